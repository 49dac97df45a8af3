/** Join tokens: what an agent shows to join. Only their SHA-256 is kept. */
import { createHash, randomBytes } from "node:crypto";
import type { Store } from "../store/index.js";

const hash = (token: string): string => createHash("sha256").update(token).digest("hex");

export async function createJoinToken(store: Store, now: Date): Promise<string> {
  const token = `bjt_${randomBytes(24).toString("base64url")}`;
  await store
    .insertInto("agent_tokens")
    .values({ token_hash: hash(token), created_at: now.getTime() })
    .execute();
  return token;
}

export async function isJoinTokenValid(store: Store, token: string): Promise<boolean> {
  const row = await store
    .selectFrom("agent_tokens")
    .select("token_hash")
    .where("token_hash", "=", hash(token))
    .executeTakeFirst();
  return row !== undefined;
}
