/**
 * Join tokens: what an agent shows once, to join. A token is `<id>.<secret>` (kubeadm's
 * bootstrap token form): the id is public (list, revoke), only the SHA-256 of the whole token is
 * kept. Each has an expiry and may have a use limit; a join consumes one use, in the same
 * transaction that records the host's own credential (`host-credentials.ts`).
 */
import { createHash, randomInt, timingSafeEqual } from "node:crypto";
import { BerthError } from "../core/index.js";
import type { Store } from "../store/index.js";

const ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";
const TOKEN_FORM = /^([a-z0-9]{6})\.([a-z0-9]{16})$/;

export type JoinTokenStatus = "valid" | "expired" | "revoked" | "exhausted";

export interface JoinTokenInfo {
  id: string;
  description?: string;
  createdAt: Date;
  /** Absent: never expires. */
  expiresAt?: Date;
  /** Absent: any number of joins. */
  usageLimit?: number;
  uses: number;
  revokedAt?: Date;
  status: JoinTokenStatus;
}

export interface JoinTokenSpec {
  /** Milliseconds the token is valid for; 0 or absent: it never expires. */
  ttlMs?: number;
  /** Joins it allows; absent: any number. */
  usageLimit?: number;
  description?: string;
}

/** A join refused: a stable code, and a text the agent prints as is. */
export class JoinRefused extends BerthError {
  constructor(code: string, message: string) {
    super(code, message, { status: 403 });
  }
}

export const hashSecret = (text: string): string => createHash("sha256").update(text).digest("hex");

/** Compares two hex hashes in constant time. */
export function sameHash(a: string, b: string): boolean {
  const left = Buffer.from(a, "hex");
  const right = Buffer.from(b, "hex");
  return left.length === right.length && timingSafeEqual(left, right);
}

function randomText(length: number): string {
  let text = "";
  for (let i = 0; i < length; i++) text += ALPHABET[randomInt(ALPHABET.length)];
  return text;
}

type Row = {
  id: string;
  description: string | null;
  created_at: number;
  expires_at: number | null;
  usage_limit: number | null;
  uses: number;
  revoked_at: number | null;
};

function statusOf(row: Row, now: number): JoinTokenStatus {
  if (row.revoked_at !== null) return "revoked";
  if (row.expires_at !== null && Number(row.expires_at) <= now) return "expired";
  if (row.usage_limit !== null && Number(row.uses) >= Number(row.usage_limit)) return "exhausted";
  return "valid";
}

function infoOf(row: Row, now: number): JoinTokenInfo {
  return {
    id: row.id,
    ...(row.description === null ? {} : { description: row.description }),
    createdAt: new Date(Number(row.created_at)),
    ...(row.expires_at === null ? {} : { expiresAt: new Date(Number(row.expires_at)) }),
    ...(row.usage_limit === null ? {} : { usageLimit: Number(row.usage_limit) }),
    uses: Number(row.uses),
    ...(row.revoked_at === null ? {} : { revokedAt: new Date(Number(row.revoked_at)) }),
    status: statusOf(row, now),
  };
}

/** Tokens that can never be used again are forgotten a day after they stopped working. */
const FORGET_AFTER_MS = 24 * 60 * 60 * 1000;

export async function createJoinToken(
  store: Store,
  now: Date,
  spec: JoinTokenSpec = {},
): Promise<{ token: string; info: JoinTokenInfo }> {
  const id = randomText(6);
  const token = `${id}.${randomText(16)}`;
  const at = now.getTime();
  const row: Row = {
    id,
    description: spec.description ?? null,
    created_at: at,
    expires_at: spec.ttlMs === undefined || spec.ttlMs === 0 ? null : at + spec.ttlMs,
    usage_limit: spec.usageLimit ?? null,
    uses: 0,
    revoked_at: null,
  };
  await store.transaction().execute(async (trx) => {
    await trx
      .deleteFrom("join_tokens")
      .where((eb) =>
        eb.or([
          eb("expires_at", "<", at - FORGET_AFTER_MS),
          eb("revoked_at", "<", at - FORGET_AFTER_MS),
        ]),
      )
      .execute();
    await trx
      .insertInto("join_tokens")
      .values({ ...row, secret_hash: hashSecret(token) })
      .execute();
  });
  return { token, info: infoOf(row, at) };
}

export async function listJoinTokens(store: Store, now: Date): Promise<JoinTokenInfo[]> {
  const rows = await store
    .selectFrom("join_tokens")
    .select(["id", "description", "created_at", "expires_at", "usage_limit", "uses", "revoked_at"])
    .orderBy("created_at")
    .execute();
  return rows.map((row) => infoOf(row, now.getTime()));
}

/** Revokes a token by its id (or the whole token); false when there is no such token. */
export async function revokeJoinToken(
  store: Store,
  idOrToken: string,
  now: Date,
): Promise<boolean> {
  const id = idOrToken.split(".", 1)[0] ?? "";
  const result = await store
    .updateTable("join_tokens")
    .set({ revoked_at: now.getTime() })
    .where("id", "=", id)
    .where("revoked_at", "is", null)
    .executeTakeFirst();
  if (Number(result.numUpdatedRows) > 0) return true;
  const row = await store
    .selectFrom("join_tokens")
    .select("id")
    .where("id", "=", id)
    .executeTakeFirst();
  return row !== undefined;
}

function exhausted(row: Row): JoinRefused {
  return new JoinRefused(
    "JoinTokenExhausted",
    `join token ${row.id} has been used its limit of ${String(row.usage_limit)} time(s)`,
  );
}

function refuseUnlessValid(row: Row, now: Date): void {
  const status = statusOf(row, now.getTime());
  if (status === "revoked")
    throw new JoinRefused("JoinTokenRevoked", `join token ${row.id} was revoked`);
  if (status === "expired")
    throw new JoinRefused(
      "JoinTokenExpired",
      `join token ${row.id} expired at ${new Date(Number(row.expires_at)).toISOString()}`,
    );
  if (status === "exhausted") throw exhausted(row);
}

/**
 * Checks a join token and takes one use of it, inside the caller's transaction (the one that
 * records the joining host's credential). Throws JoinRefused saying why it is refused.
 */
export async function consumeJoinToken(
  trx: Pick<Store, "selectFrom" | "updateTable">,
  token: string,
  now: Date,
): Promise<string> {
  const match = TOKEN_FORM.exec(token);
  const row =
    match === null
      ? undefined
      : await trx
          .selectFrom("join_tokens")
          .selectAll()
          .where("id", "=", match[1] ?? "")
          .executeTakeFirst();
  if (row === undefined || !sameHash(row.secret_hash, hashSecret(token)))
    throw new JoinRefused("JoinTokenUnknown", "the join token is not known to this server");
  refuseUnlessValid(row, now);
  // Conditional on everything checked above, so that two joins racing for a token's last use
  // cannot both have it, nor a join pass a revocation committed meanwhile (the caller's
  // transaction runs at READ COMMITTED on PostgreSQL: a fleet joining with one token must not
  // abort one another on its counter).
  const taken = await trx
    .updateTable("join_tokens")
    .set((eb) => ({ uses: eb("uses", "+", 1) }))
    .where("id", "=", row.id)
    .where("revoked_at", "is", null)
    .where((eb) => eb.or([eb("expires_at", "is", null), eb("expires_at", ">", now.getTime())]))
    .where((eb) => eb.or([eb("usage_limit", "is", null), eb("uses", "<", eb.ref("usage_limit"))]))
    .executeTakeFirst();
  if (Number(taken.numUpdatedRows) === 0) {
    const changed = await trx
      .selectFrom("join_tokens")
      .selectAll()
      .where("id", "=", row.id)
      .executeTakeFirst();
    if (changed === undefined)
      throw new JoinRefused("JoinTokenUnknown", "the join token is not known to this server");
    refuseUnlessValid(changed, now);
    throw exhausted(row);
  }
  return row.id;
}
