/** How IAM names things: ARNs (no region), the unique ids, access keys and secrets. */
import { randomBytes } from "node:crypto";
import type { Identity } from "../../core/index.js";

const ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

function randomId(length: number): string {
  return [...randomBytes(length)].map((b) => ID_ALPHABET[b % 32]).join("");
}

/** AIDA (user), AROA (role), ANPA (policy) + 17 characters; AKIA / ASIA + 16 for keys. */
export const newUniqueId = (prefix: "AIDA" | "AROA" | "ANPA"): string => prefix + randomId(17);
export const newAccessKeyId = (prefix: "AKIA" | "ASIA"): string => prefix + randomId(16);
export const newSecretAccessKey = (): string =>
  randomBytes(30).toString("base64").replace(/\+/g, "A").replace(/\//g, "B");
/** STS session tokens are long opaque strings; ours is random and only compared. */
export const newSessionToken = (): string =>
  "IQoJb3JpZ2luX2VjE" + randomBytes(96).toString("base64");

export const iamArn = (identity: Identity, resource: string): string =>
  `arn:aws:iam::${identity.accountId}:${resource}`;

/** `/` + path + name, as IAM ARNs carry a user's or role's path. */
export const pathedName = (path: string, name: string): string => `${path.slice(1)}${name}`;

export const userArn = (identity: Identity, path: string, name: string): string =>
  iamArn(identity, `user/${pathedName(path, name)}`);
export const roleArn = (identity: Identity, path: string, name: string): string =>
  iamArn(identity, `role/${pathedName(path, name)}`);
export const policyArn = (identity: Identity, path: string, name: string): string =>
  iamArn(identity, `policy/${pathedName(path, name)}`);
export const assumedRoleArn = (accountId: string, role: string, session: string): string =>
  `arn:aws:sts::${accountId}:assumed-role/${role}/${session}`;

/** A role's name from its ARN in this account (any path), or undefined. */
export function roleNameFromArn(identity: Identity, arn: string): string | undefined {
  const match = /^arn:aws:iam::(\d{12}):role\/(?:.*\/)?([\w+=,.@-]+)$/.exec(arn);
  if (match === null || match[1] !== identity.accountId) return undefined;
  return match[2];
}

/** IAM documents travel URL-encoded (RFC 3986) in answers, as IAM returns them. */
export const encodeDocument = (document: string): string =>
  encodeURIComponent(document).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
