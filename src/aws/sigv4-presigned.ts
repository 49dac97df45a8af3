/**
 * SigV4 query-string (presigned URL) verification, for URLs a client signed and handed to
 * someone else, such as `aws eks get-token`'s presigned STS GetCallerIdentity. The canonical
 * request is rebuilt from the URL plus the signed headers the verifier supplies itself (a
 * header such as `x-k8s-aws-id` is signed but never sent in the URL). The payload hash is that
 * of an empty body (botocore's presigning outside S3) or `UNSIGNED-PAYLOAD` (S3's form); the
 * signature is compared in constant time.
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { BerthError } from "../core/index.js";
import { checkSessionToken, parseAmzDate, type CredentialLookup } from "./sigv4.js";
import type { Principal } from "./principal.js";

export interface PresignedCaller {
  accessKeyId: string;
  region: string;
  service: string;
  signedAt: Date;
  /** The key's owner; undefined for the account's root. */
  principal?: Principal;
}

/** Why a presigned URL was refused; callers map it to their own wire error. */
export class PresignedUrlRejected extends BerthError {
  constructor(message: string) {
    super("PresignedUrlRejected", message, { status: 401 });
  }
}

const EMPTY_SHA256 = createHash("sha256").update("").digest("hex");

function rfc3986(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

function hmac(key: Buffer | string, data: string): Buffer {
  return createHmac("sha256", key).update(data, "utf8").digest();
}

/**
 * Verifies `url`'s presigned SigV4 signature with the secret of its access key, taking the
 * values of signed headers other than `host` from `headers`. `maxAgeMs` bounds how long after
 * X-Amz-Date the URL is accepted, on top of its own X-Amz-Expires when `honourExpires`.
 */
export async function verifyPresignedUrl(
  url: URL,
  headers: Record<string, string>,
  lookup: CredentialLookup,
  now: Date,
  options: { maxAgeMs: number; honourExpires: boolean; service?: string },
): Promise<PresignedCaller> {
  const q = url.searchParams;
  const algorithm = q.get("X-Amz-Algorithm");
  const credential = q.get("X-Amz-Credential");
  const date = q.get("X-Amz-Date");
  const signedList = q.get("X-Amz-SignedHeaders");
  const signature = q.get("X-Amz-Signature");
  if (
    algorithm !== "AWS4-HMAC-SHA256" ||
    credential === null ||
    date === null ||
    signedList === null ||
    signature === null
  )
    throw new PresignedUrlRejected("the URL is not a SigV4 presigned URL");
  const scope = /^([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request$/.exec(credential);
  if (scope === null) throw new PresignedUrlRejected("malformed X-Amz-Credential");
  const [, accessKeyId = "", scopeDate = "", region = "", service = ""] = scope;
  if (options.service !== undefined && service !== options.service)
    throw new PresignedUrlRejected(`the credential is scoped to ${service}`);
  const signedAt = parseAmzDate(date);
  if (signedAt === undefined || !date.startsWith(scopeDate))
    throw new PresignedUrlRejected("malformed X-Amz-Date");
  const age = now.getTime() - signedAt.getTime();
  if (age > options.maxAgeMs) throw new PresignedUrlRejected("the presigned URL has expired");
  if (age < -15 * 60 * 1000) throw new PresignedUrlRejected("X-Amz-Date is in the future");
  if (options.honourExpires) {
    const expires = Number(q.get("X-Amz-Expires") ?? "");
    if (!Number.isInteger(expires) || age > expires * 1000)
      throw new PresignedUrlRejected("the presigned URL has expired");
  }
  const credentials = await lookup(accessKeyId);
  if (credentials === undefined) throw new PresignedUrlRejected("unknown access key");

  const signedHeaders = signedList.toLowerCase().split(";");
  if (!signedHeaders.includes("host")) throw new PresignedUrlRejected("host is not signed");
  const canonicalHeaders = signedHeaders
    .map((name) => {
      const value = name === "host" ? url.host : headers[name];
      if (value === undefined) throw new PresignedUrlRejected(`signed header ${name} is unknown`);
      return `${name}:${value.trim().replace(/\s+/g, " ")}\n`;
    })
    .join("");
  const query = [...q.entries()]
    .filter(([key]) => key !== "X-Amz-Signature")
    .map(([key, value]) => [rfc3986(key), rfc3986(value)] as const)
    .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([key, value]) => `${key}=${value}`)
    .join("&");
  const key = hmac(
    hmac(hmac(hmac(`AWS4${credentials.secretAccessKey}`, scopeDate), region), service),
    "aws4_request",
  );
  const given = Buffer.from(signature.toLowerCase());
  const matches = [EMPTY_SHA256, "UNSIGNED-PAYLOAD"].some((payloadHash) => {
    const canonicalRequest = [
      "GET",
      url.pathname === "" ? "/" : url.pathname,
      query,
      canonicalHeaders,
      signedHeaders.join(";"),
      payloadHash,
    ].join("\n");
    const stringToSign = [
      "AWS4-HMAC-SHA256",
      date,
      `${scopeDate}/${region}/${service}/aws4_request`,
      createHash("sha256").update(canonicalRequest, "utf8").digest("hex"),
    ].join("\n");
    const expected = Buffer.from(hmac(key, stringToSign).toString("hex"));
    return expected.length === given.length && timingSafeEqual(expected, given);
  });
  if (!matches) throw new PresignedUrlRejected("the signature does not match");
  try {
    checkSessionToken(credentials, q.get("X-Amz-Security-Token") ?? undefined, now);
  } catch (error) {
    throw new PresignedUrlRejected(error instanceof Error ? error.message : String(error));
  }
  return {
    accessKeyId,
    region,
    service,
    signedAt,
    ...(credentials.principal === undefined ? {} : { principal: credentials.principal }),
  };
}
