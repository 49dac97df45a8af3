/**
 * Registry passwords, ECR style: `GetAuthorizationToken` hands out base64("AWS:" + password)
 * valid 12 hours, and every `/v2/` request brings it back as HTTP Basic. The password is a
 * payload (access key id, expiry) and an HMAC keyed by a key derived from that access key's
 * current secret: nobody without the secret can forge one, and rotating the credentials
 * revokes every password issued under the old secret.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import type { CredentialLookup, Credentials } from "../aws/index.js";

export const REGISTRY_USER = "AWS";
export const TOKEN_LIFETIME_MS = 12 * 60 * 60 * 1000;

interface TokenPayload {
  /** access key id */
  k: string;
  /** expiry, epoch ms */
  e: number;
}

function signingKey(secretAccessKey: string): Buffer {
  return createHmac("sha256", "berth-registry-password-v1").update(secretAccessKey).digest();
}

function sign(payload: string, secretAccessKey: string): string {
  return createHmac("sha256", signingKey(secretAccessKey)).update(payload).digest("base64url");
}

export function mintRegistryPassword(
  credentials: Credentials,
  now: Date,
): { password: string; expiresAt: Date } {
  // A session's password dies with the session (ECR's token does not outlive its credentials).
  const expiresAt = new Date(
    Math.min(
      now.getTime() + TOKEN_LIFETIME_MS,
      credentials.expiresAt?.getTime() ?? Number.POSITIVE_INFINITY,
    ),
  );
  const body: TokenPayload = { k: credentials.accessKeyId, e: expiresAt.getTime() };
  const payload = Buffer.from(JSON.stringify(body)).toString("base64url");
  return { password: `${payload}.${sign(payload, credentials.secretAccessKey)}`, expiresAt };
}

/** The authorizationToken field of GetAuthorizationToken: base64("AWS:" + password). */
export function encodeAuthorizationToken(password: string): string {
  return Buffer.from(`${REGISTRY_USER}:${password}`).toString("base64");
}

export type PasswordCheck = "valid" | "invalid" | "expired";

export interface PasswordOwner {
  check: PasswordCheck;
  /** The access key the password was minted for (when valid or expired). */
  accessKeyId?: string;
  credentials?: Credentials;
}

/** Who minted `password`, and whether it still holds. */
export async function registryPasswordOwner(
  password: string,
  credentials: CredentialLookup,
  now: Date,
): Promise<PasswordOwner> {
  const invalid: PasswordOwner = { check: "invalid" };
  const dot = password.indexOf(".");
  if (dot <= 0) return invalid;
  const payload = password.slice(0, dot);
  const signature = Buffer.from(password.slice(dot + 1));
  let body: Partial<TokenPayload>;
  try {
    body = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as Partial<TokenPayload>;
  } catch {
    return invalid;
  }
  if (typeof body.k !== "string" || typeof body.e !== "number") return invalid;
  const held = await credentials(body.k);
  if (held === undefined) return invalid;
  const expected = Buffer.from(sign(payload, held.secretAccessKey));
  if (expected.length !== signature.length || !timingSafeEqual(expected, signature)) return invalid;
  return {
    check: body.e > now.getTime() ? "valid" : "expired",
    accessKeyId: body.k,
    credentials: held,
  };
}

/** `Authorization: Basic ...` -> the password when the user is `AWS`, else undefined. */
export function basicPassword(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (match?.[1] === undefined) return undefined;
  const decoded = Buffer.from(match[1], "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0 || decoded.slice(0, colon) !== REGISTRY_USER) return undefined;
  return decoded.slice(colon + 1);
}
