/**
 * Each joined host's own credential: a secret the agent made and keeps (0600) in its data dir,
 * of which the server keeps the SHA-256. An agent always shows its host id and secret; a host
 * that has joined is let in by its secret alone, and one that has not needs a join token, which
 * then records the secret in the same transaction as the token's use. A join token therefore
 * never lets anyone speak for a host that already exists.
 */
import { readCommittedTransaction, type Store } from "../store/index.js";
import { consumeJoinToken, hashSecret, JoinRefused, sameHash } from "./tokens.js";

const HOST_ID_FORM = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const SECRET_FORM = /^[A-Za-z0-9_-]{32,128}$/;

export interface HostClaim {
  hostId: string;
  secret: string;
  /** Shown by an agent that may not have joined yet. */
  joinToken?: string;
}

/**
 * Lets a host in or throws JoinRefused with the reason. Answers the join token's id when this
 * connection was the host's join.
 */
export async function authenticateHost(
  store: Store,
  claim: HostClaim,
  now: Date,
): Promise<{ joinedWith?: string }> {
  if (!HOST_ID_FORM.test(claim.hostId) || !SECRET_FORM.test(claim.secret))
    throw new JoinRefused(
      "HostCredentialInvalid",
      "the agent sent no valid host id and credential (is it an older berth agent?)",
    );
  // At READ COMMITTED on PostgreSQL (the token's use is a conditional update); the same host
  // joining twice at once: the loser runs again and finds the winner's credential.
  return readCommittedTransaction(store, ["host_credentials"]).execute(async (trx) => {
    const credential = await trx
      .selectFrom("host_credentials")
      .select("secret_hash")
      .where("host_id", "=", claim.hostId)
      .executeTakeFirst();
    if (credential !== undefined) {
      if (sameHash(credential.secret_hash, hashSecret(claim.secret))) return {};
      throw new JoinRefused(
        "HostCredentialMismatch",
        `host ${claim.hostId} has joined with another credential; a join token cannot take over a joined host`,
      );
    }
    if (claim.joinToken === undefined)
      throw new JoinRefused(
        "HostNotJoined",
        `host ${claim.hostId} has not joined this server: start the agent with the join line's --token`,
      );
    const existing = await trx
      .selectFrom("hosts")
      .select("id")
      .where("id", "=", claim.hostId)
      .executeTakeFirst();
    if (existing !== undefined)
      throw new JoinRefused(
        "HostIdTaken",
        `host id ${claim.hostId} is already in use; a join token cannot take over an existing host`,
      );
    const tokenId = await consumeJoinToken(trx, claim.joinToken, now);
    await trx
      .insertInto("host_credentials")
      .values({
        host_id: claim.hostId,
        secret_hash: hashSecret(claim.secret),
        joined_with: tokenId,
        created_at: now.getTime(),
      })
      .execute();
    return { joinedWith: tokenId };
  });
}

/**
 * Records the credential of the local host of `berth up`, which runs in the server's own
 * process and so needs no token to prove itself.
 */
export async function enrollLocalHost(
  store: Store,
  hostId: string,
  secret: string,
  now: Date,
): Promise<void> {
  await store
    .insertInto("host_credentials")
    .values({
      host_id: hostId,
      secret_hash: hashSecret(secret),
      joined_with: null,
      created_at: now.getTime(),
    })
    .onConflict((oc) => oc.column("host_id").doUpdateSet({ secret_hash: hashSecret(secret) }))
    .execute();
}
