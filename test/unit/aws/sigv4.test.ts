import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import { Hash } from "@smithy/hash-node";
import { HttpRequest } from "@smithy/protocol-http";
import { SignatureV4 } from "@smithy/signature-v4";
import {
  AwsError,
  verifySigV4,
  type Credentials,
  type SignedRequest,
} from "../../../src/aws/index.js";
import { preauthenticate } from "../../../src/aws/sigv4.js";

const KEY: Credentials = {
  accessKeyId: "AKIAEXAMPLEEXAMPLE00",
  secretAccessKey: "secret/secret/secret",
};
const lookup = (id: string): Credentials | undefined => (id === KEY.accessKeyId ? KEY : undefined);
const SIGNED_AT = new Date("2026-03-01T12:00:00Z");

async function signed(
  options: {
    secret?: string;
    date?: Date;
    body?: string;
    service?: string;
    /** Extra headers signed with the request. */
    extra?: Record<string, string>;
    /** Sign without X-Amz-Target, then add it (what a capture replayed with a new target is). */
    targetAfterSigning?: string;
  } = {},
): Promise<SignedRequest> {
  const body = options.body ?? '{"clusterName":"demo"}';
  const signer = new SignatureV4({
    credentials: {
      accessKeyId: KEY.accessKeyId,
      secretAccessKey: options.secret ?? KEY.secretAccessKey,
    },
    region: "us-east-1",
    service: options.service ?? "ecs",
    sha256: Hash.bind(null, "sha256"),
  });
  const request = await signer.sign(
    new HttpRequest({
      method: "POST",
      hostname: "127.0.0.1",
      port: 4566,
      path: "/",
      headers: {
        host: "127.0.0.1:4566",
        "content-type": "application/x-amz-json-1.1",
        ...(options.targetAfterSigning === undefined
          ? { "x-amz-target": "AmazonEC2ContainerServiceV20141113.CreateCluster" }
          : {}),
        "user-agent": "test",
        ...options.extra,
      },
      body,
    }),
    { signingDate: options.date ?? SIGNED_AT },
  );
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) headers[name.toLowerCase()] = value;
  if (options.targetAfterSigning !== undefined)
    headers["x-amz-target"] = options.targetAfterSigning;
  return { method: "POST", url: "/", headers, body: Buffer.from(body) };
}

async function rejection(request: SignedRequest, now = SIGNED_AT): Promise<AwsError> {
  try {
    await verifySigV4(request, lookup, now, "ecs");
  } catch (error) {
    assert.ok(error instanceof AwsError);
    assert.equal(error.status, 400);
    return error;
  }
  assert.fail("expected the signature to be refused");
}

describe("SigV4 verification", () => {
  it("accepts what the AWS SDK's signer signs", async () => {
    const caller = await verifySigV4(await signed(), lookup, SIGNED_AT, "ecs");
    assert.deepEqual(caller, { accessKeyId: KEY.accessKeyId, region: "us-east-1", service: "ecs" });
  });

  it("refuses a signature made with the wrong secret", async () => {
    const error = await rejection(await signed({ secret: "wrong" }));
    assert.equal(error.code, "InvalidSignatureException");
    assert.match(error.message, /^The request signature we calculated does not match/);
  });

  it("refuses a body changed after signing", async () => {
    const request = await signed();
    request.body = Buffer.from('{"clusterName":"evil"}');
    assert.equal((await rejection(request)).code, "InvalidSignatureException");
  });

  it("refuses a changed signed header", async () => {
    const request = await signed();
    request.headers["x-amz-target"] = "AmazonEC2ContainerServiceV20141113.DeleteCluster";
    assert.equal((await rejection(request)).code, "InvalidSignatureException");
  });

  it("refuses an unknown access key", async () => {
    const request = await signed();
    request.headers.authorization = String(request.headers.authorization).replace(
      KEY.accessKeyId,
      "AKIAUNKNOWNUNKNOWN00",
    );
    const error = await rejection(request);
    assert.equal(error.code, "UnrecognizedClientException");
    assert.equal(error.message, "The security token included in the request is invalid.");
  });

  it("refuses a request without a signature", async () => {
    const request = await signed();
    delete request.headers.authorization;
    const error = await rejection(request);
    assert.equal(error.code, "MissingAuthenticationTokenException");
    assert.equal(error.message, "Missing Authentication Token");
  });

  it("refuses a malformed Authorization header", async () => {
    const request = await signed();
    request.headers.authorization = "AWS4-HMAC-SHA256 Credential=nonsense";
    assert.equal((await rejection(request)).code, "IncompleteSignatureException");
  });

  it("refuses a signing date more than 15 minutes off, either way", async () => {
    const later = new Date(SIGNED_AT.getTime() + 16 * 60_000);
    const expired = await rejection(await signed(), later);
    assert.equal(expired.code, "InvalidSignatureException");
    assert.equal(
      expired.message,
      "Signature expired: 20260301T120000Z is now earlier than 20260301T120100Z (20260301T121600Z - 15 min.)",
    );
    const earlier = new Date(SIGNED_AT.getTime() - 16 * 60_000);
    assert.match(
      (await rejection(await signed(), earlier)).message,
      /^Signature not yet current: /,
    );
    // 14 minutes is within the window.
    await verifySigV4(await signed(), lookup, new Date(SIGNED_AT.getTime() + 14 * 60_000), "ecs");
  });

  it("refuses credentials scoped to another service", async () => {
    const error = await rejection(await signed({ service: "ecr" }));
    assert.equal(error.code, "InvalidSignatureException");
    assert.match(error.message, /Credential should be scoped to correct service: 'ecs'/);
  });

  it("refuses a signature that does not cover X-Amz-Target (a replay with another action)", async () => {
    const replay = await signed({
      targetAfterSigning: "AmazonEC2ContainerServiceV20141113.DeleteCluster",
    });
    const error = await rejection(replay);
    assert.equal(error.code, "InvalidSignatureException");
    assert.equal(
      error.message,
      "'X-Amz-Target' must be a 'SignedHeader' in the AWS Authorization.",
    );
  });

  it("refuses UNSIGNED-PAYLOAD, signed or not, and a payload hash that is not the body's", async () => {
    const unsigned = await signed({ extra: { "x-amz-content-sha256": "UNSIGNED-PAYLOAD" } });
    unsigned.body = Buffer.from('{"clusterName":"evil"}');
    const error = await rejection(unsigned);
    assert.equal(error.code, "InvalidSignatureException");
    assert.match(error.message, /^The request signature we calculated does not match/);
    const added = await signed();
    added.headers["x-amz-content-sha256"] = "UNSIGNED-PAYLOAD";
    assert.equal((await rejection(added)).code, "InvalidSignatureException");
    const wrongHash = await signed();
    wrongHash.headers["x-amz-content-sha256"] = "0".repeat(64);
    assert.equal((await rejection(wrongHash)).code, "InvalidSignatureException");
  });

  it("accepts a signed payload hash that is the body's", async () => {
    const body = '{"clusterName":"demo"}';
    const hash = createHash("sha256").update(body).digest("hex");
    const request = await signed({ body, extra: { "x-amz-content-sha256": hash } });
    await verifySigV4(request, lookup, SIGNED_AT, "ecs");
  });

  it("checks a preauthenticated request's signature once, and again if what was signed changed", async () => {
    const body = '{"clusterName":"demo"}';
    const hash = createHash("sha256").update(body).digest("hex");
    const signs = { count: 0 };
    // The signer's method, counted (every SigV4 check signs the request again to compare).
    const proto = SignatureV4.prototype as unknown as { sign: (...args: unknown[]) => unknown };
    const sign = proto.sign;
    proto.sign = function (this: unknown, ...args: unknown[]) {
      signs.count++;
      return sign.apply(this, args);
    };
    try {
      const request = await signed({ body, extra: { "x-amz-content-sha256": hash } });
      signs.count = 0;
      assert.equal(await preauthenticate(request, lookup, SIGNED_AT, "ecs"), "signature");
      await verifySigV4(request, lookup, SIGNED_AT, "ecs");
      assert.equal(signs.count, 1, "signed once: before the body was read");

      // A body that is not the one whose hash was signed is still refused.
      const other = await signed({ body, extra: { "x-amz-content-sha256": hash } });
      await preauthenticate(other, lookup, SIGNED_AT, "ecs");
      other.body = Buffer.from('{"clusterName":"evil"}');
      assert.equal((await rejection(other)).code, "InvalidSignatureException");

      // Headers changed after the check: checked again from the start, and refused.
      const changed = await signed({ body, extra: { "x-amz-content-sha256": hash } });
      await preauthenticate(changed, lookup, SIGNED_AT, "ecs");
      changed.headers["x-amz-target"] = "AmazonEC2ContainerServiceV20141113.DeleteCluster";
      signs.count = 0;
      assert.equal((await rejection(changed)).code, "InvalidSignatureException");
      assert.equal(signs.count, 1);
    } finally {
      proto.sign = sign;
    }
  });
});
