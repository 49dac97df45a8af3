/**
 * SigV4 verification. We parse the Authorization header, rebuild the request with exactly the
 * headers the client listed in SignedHeaders, have `@smithy/signature-v4` sign it again with the
 * secret we hold, and compare signatures in constant time. No checksum header is added on our
 * side (`applyChecksum: false`): the AWS CLI does not sign one for JSON APIs. The signature must
 * cover what decides the request: the body (never `UNSIGNED-PAYLOAD`) and `X-Amz-Target`.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { HttpRequest } from "@smithy/protocol-http";
import { Hash } from "@smithy/hash-node";
import { SignatureV4 } from "@smithy/signature-v4";
import { AwsError } from "./errors.js";
import type { Principal } from "./principal.js";
import type { Tuple } from "../core/index.js";

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  /** Temporary credentials (STS): the token every request must carry, and when it dies. */
  sessionToken?: string;
  expiresAt?: Date;
  /** Whose key this is; absent means the account's root. */
  principal?: Principal;
}

/** Looks up the secret for an access key id; undefined when the key is unknown. */
export type CredentialLookup = (
  accessKeyId: string,
) => Credentials | undefined | Promise<Credentials | undefined>;

export interface SignedRequest {
  method: string;
  /** Path and query as received (`req.url`). */
  url: string;
  /** Lower-cased header names, as node's IncomingMessage gives them. */
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** A request whose body has not been read yet. */
export type UnreadRequest = Omit<SignedRequest, "body">;

/**
 * A gateway's answer before the body is read: a refusal to send as it is, or how much of the
 * signature it could verify ("headers": the body is needed for the rest).
 */
export type Precheck =
  | { refused: { status: number; headers: Record<string, string>; body: string } }
  | { verified: "signature" | "headers" };

export interface VerifiedCaller {
  accessKeyId: string;
  region: string;
  service: string;
  /** The key's owner; undefined for the account's root. */
  principal?: Principal;
}

/**
 * A session key needs its token, and a long-term key must not bring one; a session past its
 * expiry is refused as AWS refuses it (ExpiredTokenException, ExpiredToken on Query).
 */
export function checkSessionToken(
  credentials: Credentials,
  token: string | undefined,
  now: Date,
): void {
  const expected = credentials.sessionToken;
  if (expected === undefined) {
    if (token !== undefined && token !== "") throw new AwsError("UnrecognizedClientException");
    return;
  }
  const given = Buffer.from(token ?? "");
  const held = Buffer.from(expected);
  if (given.length !== held.length || !timingSafeEqual(given, held))
    throw new AwsError("UnrecognizedClientException");
  if (credentials.expiresAt !== undefined && credentials.expiresAt.getTime() <= now.getTime())
    throw new AwsError("ExpiredTokenException");
}

/** AWS allows a 15-minute skew between the signing date and its own clock. */
const MAX_SKEW_MS = 15 * 60 * 1000;

const SIGNATURE_MISMATCH =
  "The request signature we calculated does not match the signature you provided. " +
  "Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";

const AUTH_PATTERN =
  /^AWS4-HMAC-SHA256\s+Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/([^/,\s]+)\/aws4_request\s*,\s*SignedHeaders=([a-z0-9;\-_.]+)\s*,\s*Signature=([0-9a-f]{64})\s*$/i;

function header(request: UnreadRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(",") : value;
}

/** `20260101T000000Z` -> Date, or undefined when it is not that form. */
export function parseAmzDate(value: string): Date | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (match === null) return undefined;
  const [, y, mo, d, h, mi, s] = match.map(Number) as Tuple<number, 7>;
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  return Number.isNaN(date.getTime()) ? undefined : date;
}

function amzDate(date: Date): string {
  return date
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}/, "");
}

interface CheckedHeaders extends VerifiedCaller {
  credentials: Credentials;
  signingDate: Date;
  signedHeaders: string[];
  headers: Record<string, string>;
  signature: string;
}

/**
 * Everything of a SigV4 check that needs no body: the Authorization header's form, a known
 * key, scope, date and skew, and the headers that must be signed. The server runs it before it
 * reads a body (issue 12, item 5), so a client without credentials cannot make it buffer one:
 * a request that fails here fails verifySigV4 with the same error.
 */
export async function checkSignedHeaders(
  request: UnreadRequest,
  lookup: CredentialLookup,
  now: Date,
  expectedService?: string,
  expectedRegion?: string,
): Promise<CheckedHeaders> {
  const authorization = header(request, "authorization");
  if (authorization === undefined || authorization === "") {
    throw new AwsError("MissingAuthenticationTokenException");
  }
  const match = AUTH_PATTERN.exec(authorization);
  if (match === null) {
    throw new AwsError(
      "IncompleteSignatureException",
      `Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters. Authorization=${authorization.slice(0, 200)}`,
    );
  }
  const [, accessKeyId, scopeDate, region, service, signedList, signature] =
    match as unknown as Tuple<string, 7>;
  const credentials = await lookup(accessKeyId);
  if (credentials === undefined) {
    throw new AwsError("UnrecognizedClientException");
  }
  if (expectedService !== undefined && service !== expectedService) {
    throw new AwsError(
      "InvalidSignatureException",
      `Credential should be scoped to correct service: '${expectedService}'. `,
    );
  }
  // AWS answers a request signed for another region this way, rather than serving it as its own.
  if (expectedRegion !== undefined && region !== expectedRegion) {
    throw new AwsError(
      "InvalidSignatureException",
      `Credential should be scoped to a valid region, not '${region}'. `,
    );
  }
  const dateHeader = header(request, "x-amz-date");
  const signingDate = dateHeader === undefined ? undefined : parseAmzDate(dateHeader);
  if (signingDate === undefined) {
    throw new AwsError(
      "IncompleteSignatureException",
      "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
    );
  }
  if (!dateHeader?.startsWith(scopeDate)) {
    throw new AwsError(
      "InvalidSignatureException",
      `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${scopeDate}' != '${dateHeader?.slice(0, 8) ?? ""}', from '${dateHeader ?? ""}'.`,
    );
  }
  const skew = signingDate.getTime() - now.getTime();
  if (skew < -MAX_SKEW_MS) {
    throw new AwsError(
      "InvalidSignatureException",
      `Signature expired: ${dateHeader} is now earlier than ${amzDate(new Date(now.getTime() - MAX_SKEW_MS))} (${amzDate(now)} - 15 min.)`,
    );
  }
  if (skew > MAX_SKEW_MS) {
    throw new AwsError(
      "InvalidSignatureException",
      `Signature not yet current: ${dateHeader} is still later than ${amzDate(new Date(now.getTime() + MAX_SKEW_MS))} (${amzDate(now)} + 15 min.)`,
    );
  }

  const signedHeaders = signedList.toLowerCase().split(";");
  if (!signedHeaders.includes("host")) {
    throw new AwsError(
      "InvalidSignatureException",
      "'Host' must be a 'SignedHeader' in the AWS Authorization.",
    );
  }
  const headers: Record<string, string> = {};
  for (const name of signedHeaders) {
    const value = header(request, name);
    if (value === undefined) throw new AwsError("InvalidSignatureException", SIGNATURE_MISMATCH);
    headers[name] = value;
  }
  // The target picks the action: a signature that does not cover it would let a captured
  // DescribeClusters be replayed as DeleteCluster. (AWS requires only Host to be signed; every
  // AWS SDK and CLI signs X-Amz-Target, so requiring it costs real clients nothing.)
  if (header(request, "x-amz-target") !== undefined && !signedHeaders.includes("x-amz-target")) {
    throw new AwsError(
      "InvalidSignatureException",
      "'X-Amz-Target' must be a 'SignedHeader' in the AWS Authorization.",
    );
  }
  return {
    accessKeyId,
    region,
    service,
    credentials,
    signingDate,
    signedHeaders,
    headers,
    signature,
  };
}

/**
 * Verifies the request's SigV4 signature. Throws the AWS error a real endpoint would give:
 * MissingAuthenticationTokenException, IncompleteSignatureException, UnrecognizedClientException
 * or InvalidSignatureException (all 400, as AWS JSON services answer them).
 */
export async function verifySigV4(
  request: SignedRequest,
  lookup: CredentialLookup,
  now: Date,
  expectedService?: string,
  expectedRegion?: string,
): Promise<VerifiedCaller> {
  const checked = await checkSignedHeaders(request, lookup, now, expectedService, expectedRegion);
  // The payload must be covered too. AWS's JSON and Query services hash the body themselves, so
  // a client that signed `UNSIGNED-PAYLOAD` (or a streaming form) gets the mismatch answer there;
  // a hash header, signed or not, must be the body's.
  const contentHash = header(request, "x-amz-content-sha256");
  if (contentHash !== undefined) {
    const actual = createHash("sha256").update(request.body).digest("hex");
    if (actual !== contentHash) throw new AwsError("InvalidSignatureException", SIGNATURE_MISMATCH);
  }
  // preauthenticate checked this very signature over this very hash (now shown to be the
  // body's): signing the request again would give the same answer.
  if (
    contentHash === undefined ||
    signaturesChecked.get(request.headers) !== signedText(request, checked)
  )
    await checkSignature(request, checked, request.body);
  // The token is checked once the signature is known good: a forged request learns nothing.
  checkSessionToken(
    checked.credentials,
    header(request, "x-amz-security-token") ??
      new URL(request.url, "http://placeholder").searchParams.get("X-Amz-Security-Token") ??
      undefined,
    now,
  );
  const { principal } = checked.credentials;
  return {
    accessKeyId: checked.accessKeyId,
    region: checked.region,
    service: checked.service,
    ...(principal === undefined ? {} : { principal }),
  };
}

/**
 * Signs the request again with the secret we hold and compares in constant time. With `body`
 * undefined the payload's hash is the signed `x-amz-content-sha256` header's, so the signature
 * can be checked before the body is read.
 */
async function checkSignature(
  request: UnreadRequest,
  checked: Omit<CheckedHeaders, "accessKeyId">,
  body: Buffer | undefined,
): Promise<void> {
  const url = new URL(request.url, "http://placeholder");
  const query: Record<string, string | string[]> = {};
  for (const [key, value] of url.searchParams) {
    const prior = query[key];
    query[key] =
      prior === undefined ? value : Array.isArray(prior) ? [...prior, value] : [prior, value];
  }
  const signer = new SignatureV4({
    // Only the key pair: given a session token the signer would add (and sign) its own header.
    credentials: {
      accessKeyId: checked.credentials.accessKeyId,
      secretAccessKey: checked.credentials.secretAccessKey,
    },
    region: checked.region,
    service: checked.service,
    sha256: Hash.bind(null, "sha256"),
    applyChecksum: false,
    uriEscapePath: true,
  });
  const resigned = await signer.sign(
    new HttpRequest({
      method: request.method,
      path: url.pathname,
      query,
      headers: checked.headers,
      body,
    }),
    { signingDate: checked.signingDate, signableHeaders: new Set(checked.signedHeaders) },
  );
  const expected =
    /Signature=([0-9a-f]{64})/.exec(String(resigned.headers.authorization))?.[1] ?? "";
  const given = Buffer.from(checked.signature.toLowerCase());
  if (expected.length !== given.length || !timingSafeEqual(Buffer.from(expected), given)) {
    throw new AwsError("InvalidSignatureException", SIGNATURE_MISMATCH);
  }
}

/**
 * What a server can know of a request's signature before it reads the body (issue 12, item 5):
 * checkSignedHeaders, then, when the client signed the body's hash in `x-amz-content-sha256`
 * (the AWS SDKs do), the signature itself over that hash ("signature"; verifySigV4 later checks
 * the body against it). Without that header only the headers could be checked ("headers").
 * Throws the error verifySigV4 would throw for the same request.
 */
export async function preauthenticate(
  request: UnreadRequest,
  lookup: CredentialLookup,
  now: Date,
  expectedService?: string,
  expectedRegion?: string,
): Promise<"signature" | "headers"> {
  const checked = await checkSignedHeaders(request, lookup, now, expectedService, expectedRegion);
  const hash = checked.headers["x-amz-content-sha256"];
  if (hash === undefined || !/^[0-9a-f]{64}$/.test(hash)) return "headers";
  await checkSignature(request, checked, undefined);
  signaturesChecked.set(request.headers, signedText(request, checked));
  return "signature";
}

/**
 * The signatures preauthenticate found good, by the request's headers object (the one the
 * router hands on, with the body, to verifySigV4): a request's signature is computed once, not
 * again once its body is read (a SigV4 check is some 50 µs of a server's CPU; every AWS SDK and
 * CLI signs its payload's hash, so every call of theirs was checked twice). What was signed is
 * kept beside it, so a headers object changed in between is checked again from the start.
 */
const signaturesChecked = new WeakMap<object, string>();

/** Everything a signature check depends on, but the body (covered by its signed hash). */
function signedText(request: UnreadRequest, checked: CheckedHeaders): string {
  return JSON.stringify([
    request.method,
    request.url,
    checked.signature,
    checked.credentials.secretAccessKey,
    checked.signingDate.getTime(),
    checked.region,
    checked.service,
    checked.headers,
  ]);
}
