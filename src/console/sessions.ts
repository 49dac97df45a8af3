/**
 * Console sessions: signing in proves the account's secret to the server (compared in constant
 * time, never kept), and yields a random cookie whose SHA-256 alone the store keeps with an
 * expiry and a CSRF token. Signing out deletes the row: the cookie is dead everywhere at once.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { CredentialLookup } from "../aws/index.js";
import type { Clock } from "../core/index.js";
import type { Store } from "../store/index.js";

/** How long a session lasts from sign-in (the AWS console's default is 12 hours). */
export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;
/** How long a one-time sign-in link can be used (once). */
export const LINK_TTL_MS = 5 * 60 * 1000;

export interface Session {
  accessKeyId: string;
  csrfToken: string;
  expiresAt: number;
}

const hash = (token: string): string => createHash("sha256").update(token).digest("hex");

function sameSecret(given: string, expected: string): boolean {
  // Hashing first makes the comparison's length fixed: the secret's length leaks nothing.
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}

export class ConsoleSessions {
  constructor(
    private readonly options: { store: Store; credentials: CredentialLookup; clock: Clock },
  ) {}

  /** A new session's cookie value, or undefined when the key is unknown or the secret wrong. */
  async signIn(
    accessKeyId: string,
    secretAccessKey: string,
  ): Promise<{ token: string; session: Session } | undefined> {
    const known = await this.options.credentials(accessKeyId);
    // An unknown key is compared too, so the answer's time does not tell keys apart.
    const ok = sameSecret(secretAccessKey, known?.secretAccessKey ?? randomBytes(30).toString());
    // A session key (STS) signs in nowhere without its token: the console takes none.
    if (known === undefined || !ok || known.sessionToken !== undefined) return undefined;
    return this.#open(accessKeyId);
  }

  /**
   * A one-time sign-in link's token for a key already proven (by `berth up`'s own key, or a
   * signed request): random, kept only as its SHA-256, good once within LINK_TTL_MS.
   */
  async createLink(accessKeyId: string): Promise<string> {
    const token = randomBytes(32).toString("base64url");
    const now = this.options.clock.now().getTime();
    await this.options.store
      .insertInto("console_links")
      .values({
        token_hash: hash(token),
        access_key_id: accessKeyId,
        expires_at: now + LINK_TTL_MS,
      })
      .execute();
    await this.options.store.deleteFrom("console_links").where("expires_at", "<=", now).execute();
    return token;
  }

  /**
   * Exchanges a link's token for a session. The row is deleted in the same statement that finds
   * it, so of two servers redeeming one link at once only one gets a session: a replay gets none.
   */
  async redeemLink(token: string): Promise<{ token: string; session: Session } | undefined> {
    if (token === "") return undefined;
    const now = this.options.clock.now().getTime();
    const row = await this.options.store
      .deleteFrom("console_links")
      .where("token_hash", "=", hash(token))
      .returning(["access_key_id", "expires_at"])
      .executeTakeFirst();
    if (row === undefined || Number(row.expires_at) <= now) return undefined;
    const known = await this.options.credentials(row.access_key_id);
    if (known === undefined || known.sessionToken !== undefined) return undefined;
    return this.#open(row.access_key_id);
  }

  async #open(accessKeyId: string): Promise<{ token: string; session: Session }> {
    const now = this.options.clock.now().getTime();
    const token = randomBytes(32).toString("base64url");
    const session = {
      accessKeyId,
      csrfToken: randomBytes(24).toString("base64url"),
      expiresAt: now + SESSION_TTL_MS,
    };
    await this.options.store
      .insertInto("console_sessions")
      .values({
        token_hash: hash(token),
        access_key_id: session.accessKeyId,
        csrf_token: session.csrfToken,
        created_at: now,
        expires_at: session.expiresAt,
      })
      .execute();
    // Expired sessions go whenever someone signs in: the table stays as small as its use.
    await this.options.store
      .deleteFrom("console_sessions")
      .where("expires_at", "<=", now)
      .execute();
    return { token, session };
  }

  /** The live session a cookie names; an expired or signed-out one is none. */
  async find(token: string | undefined): Promise<Session | undefined> {
    if (token === undefined || token === "") return undefined;
    const row = await this.options.store
      .selectFrom("console_sessions")
      .selectAll()
      .where("token_hash", "=", hash(token))
      .executeTakeFirst();
    if (row === undefined || Number(row.expires_at) <= this.options.clock.now().getTime())
      return undefined;
    // A key that no longer exists (rotated, or an IAM user deleted) ends its sessions.
    if ((await this.options.credentials(row.access_key_id)) === undefined) return undefined;
    return {
      accessKeyId: row.access_key_id,
      csrfToken: row.csrf_token,
      expiresAt: Number(row.expires_at),
    };
  }

  async signOut(token: string): Promise<void> {
    await this.options.store
      .deleteFrom("console_sessions")
      .where("token_hash", "=", hash(token))
      .execute();
  }
}
