/** Registry passwords: minted by GetAuthorizationToken, checked on every /v2/ request. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ManualClock } from "../../../src/core/index.js";
import {
  encodeAuthorizationToken,
  mintRegistryPassword,
  TOKEN_LIFETIME_MS,
} from "../../../src/registry/index.js";
import { registryPasswordOwner } from "../../../src/registry/auth.js";
import type { CredentialLookup } from "../../../src/aws/index.js";
import { CREDENTIALS, errorCode, startTestRegistry } from "./test-registry.js";

const checkRegistryPassword = async (password: string, credentials: CredentialLookup, now: Date) =>
  (await registryPasswordOwner(password, credentials, now)).check;

const lookup = (id: string) => (id === CREDENTIALS.accessKeyId ? CREDENTIALS : undefined);

describe("registry passwords", () => {
  const now = new Date("2026-01-01T00:00:00Z");

  it("are valid for 12 hours, then expired", async () => {
    const { password, expiresAt } = mintRegistryPassword(CREDENTIALS, now);
    assert.equal(expiresAt.getTime() - now.getTime(), TOKEN_LIFETIME_MS);
    assert.equal(await checkRegistryPassword(password, lookup, now), "valid");
    assert.equal(
      await checkRegistryPassword(password, lookup, new Date(expiresAt.getTime() - 1)),
      "valid",
    );
    assert.equal(await checkRegistryPassword(password, lookup, expiresAt), "expired");
  });

  it("cannot be forged or extended without the secret", async () => {
    const { password } = mintRegistryPassword(CREDENTIALS, now);
    const [payload, signature] = password.split(".") as [string, string];
    const body = JSON.parse(Buffer.from(payload, "base64url").toString()) as { e: number };
    const extended = Buffer.from(JSON.stringify({ ...body, e: body.e + 1e9 })).toString(
      "base64url",
    );
    assert.equal(await checkRegistryPassword(`${extended}.${signature}`, lookup, now), "invalid");
    const other = mintRegistryPassword(
      { ...CREDENTIALS, secretAccessKey: "guessed" },
      now,
    ).password;
    assert.equal(await checkRegistryPassword(other, lookup, now), "invalid");
    for (const junk of ["", "abc", ".", "x.y", `${payload}.`])
      assert.equal(await checkRegistryPassword(junk, lookup, now), "invalid");
  });

  it("die when the credentials change", async () => {
    const { password } = mintRegistryPassword(CREDENTIALS, now);
    const rotated = { ...CREDENTIALS, secretAccessKey: "a-new-secret" };
    assert.equal(await checkRegistryPassword(password, () => rotated, now), "invalid");
    assert.equal(await checkRegistryPassword(password, () => undefined, now), "invalid");
  });

  it("travel as base64 of AWS:password, like ECR's authorizationToken", () => {
    assert.equal(Buffer.from(encodeAuthorizationToken("pw"), "base64").toString(), "AWS:pw");
  });
});

describe("/v2/ authentication", () => {
  it("answers 401 UNAUTHORIZED with WWW-Authenticate without credentials or with a forged token", async () => {
    const t = await startTestRegistry();
    try {
      await t.createRepository("app");
      const forged = `Basic ${Buffer.from("AWS:eyJrIjoiQUtJQSIsImUiOjk5OTk5OTk5OTk5OTl9.forged").toString("base64")}`;
      const wrongUser = `Basic ${Buffer.from(`admin:${t.auth}`).toString("base64")}`;
      for (const authorization of [undefined, forged, wrongUser, "Bearer abc"]) {
        for (const path of [
          "/v2/",
          "/v2/app/tags/list",
          "/v2/app/manifests/latest",
          "/v2/_catalog",
        ]) {
          const response = await fetch(t.url + path, {
            headers: authorization === undefined ? {} : { authorization },
          });
          assert.equal(response.status, 401, `${path} ${authorization ?? "none"}`);
          assert.match(response.headers.get("www-authenticate") ?? "", /^Basic realm="/);
          assert.equal(await errorCode(response), "UNAUTHORIZED");
        }
      }
      assert.equal((await t.request("/v2/")).status, 200);
    } finally {
      await t.close();
    }
  });

  it("answers 403 DENIED to an expired token, as ECR does", async () => {
    const clock = new ManualClock(new Date("2026-01-01T00:00:00Z"));
    const t = await startTestRegistry({ clock });
    try {
      assert.equal((await t.request("/v2/")).status, 200);
      clock.advance(TOKEN_LIFETIME_MS + 1);
      const response = await t.request("/v2/");
      assert.equal(response.status, 403);
      assert.equal(await errorCode(response), "DENIED");
    } finally {
      await t.close();
    }
  });

  it("refuses a token minted before the secret was rotated", async () => {
    let current = CREDENTIALS;
    const t = await startTestRegistry({ credentials: () => current });
    try {
      assert.equal((await t.request("/v2/")).status, 200);
      current = { ...CREDENTIALS, secretAccessKey: "rotated-secret" };
      assert.equal((await t.request("/v2/")).status, 401);
    } finally {
      await t.close();
    }
  });
});
