/**
 * Secrets and their versions in the store: finding a secret by the ways SecretId names it
 * (name, full ARN, partial ARN), moving staging labels (pure), sealing and opening values.
 */
import { randomInt } from "node:crypto";
import type { Transaction } from "kysely";
import { arn, type Identity, type ValueSealer } from "../../core/index.js";
import {
  dropTags,
  type Database,
  type SmSecretTable,
  type SmSecretVersionTable,
  type Store,
} from "../../store/index.js";
import { markedForDeletion, secretNotFound } from "./errors.js";

export type Db = Store | Transaction<Database>;
export type SecretRow = SmSecretTable;
export type VersionRow = SmSecretVersionTable;

export const CURRENT = "AWSCURRENT";
export const PREVIOUS = "AWSPREVIOUS";

const SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** A new secret's ARN: its name and a hyphen and six random characters, as AWS makes them. */
export function secretArn(identity: Identity, name: string): string {
  const suffix = Array.from({ length: 6 }, () => SUFFIX_ALPHABET[randomInt(62)]).join("");
  return arn(identity, "secretsmanager", `secret:${name}-${suffix}`);
}

/** What a SecretId (name, ARN, or ARN without the six-character suffix) names, if anything. */
export async function findSecret(db: Db, secretId: string): Promise<SecretRow | undefined> {
  if (!secretId.startsWith("arn:"))
    return db.selectFrom("sm_secrets").selectAll().where("name", "=", secretId).executeTakeFirst();
  const at = secretId.indexOf(":secret:");
  if (at < 0) return undefined;
  const rest = secretId.slice(at + ":secret:".length);
  const names = [...new Set([rest, rest.replace(/-[A-Za-z0-9]{6}$/, "")])];
  const rows = await db.selectFrom("sm_secrets").selectAll().where("name", "in", names).execute();
  return rows.find((row) => row.arn === secretId || row.arn.slice(0, -7) === secretId);
}

export async function requireSecret(db: Db, secretId: string): Promise<SecretRow> {
  const row = await findSecret(db, secretId);
  if (row === undefined) throw secretNotFound();
  return row;
}

/** A secret that is not scheduled for deletion (most operations refuse one that is). */
export async function requireLiveSecret(db: Db, secretId: string): Promise<SecretRow> {
  const row = await requireSecret(db, secretId);
  if (row.deleted_at !== null) throw markedForDeletion();
  return row;
}

/** Secrets whose recovery window has passed are gone; run before every read. */
export async function purgeExpired(store: Store, now: number): Promise<void> {
  const expired = await store
    .selectFrom("sm_secrets")
    .select("arn")
    .where("delete_after", "<=", now)
    .execute();
  for (const { arn } of expired) await deleteSecretNow(store, arn);
}

export async function deleteSecretNow(db: Db, secretArn: string): Promise<void> {
  await db.deleteFrom("sm_secret_versions").where("secret_arn", "=", secretArn).execute();
  await dropTags(db, [secretArn]);
  await db.deleteFrom("sm_secrets").where("arn", "=", secretArn).execute();
}

export async function versionsOf(db: Db, secretArn: string): Promise<VersionRow[]> {
  return db
    .selectFrom("sm_secret_versions")
    .selectAll()
    .where("secret_arn", "=", secretArn)
    .orderBy("created_at")
    .orderBy("version_id")
    .execute();
}

export const stagesOf = (row: Pick<VersionRow, "stages">): string[] =>
  JSON.parse(row.stages) as string[];

/**
 * The staging labels of every version after `target` is given `stages`: each label leaves the
 * version that held it; when AWSCURRENT moves, the version that had it becomes AWSPREVIOUS.
 * Labels of `target` not named stay with it (UpdateSecretVersionStage adds; a new version has
 * none).
 */
export function moveStages(
  versions: ReadonlyMap<string, readonly string[]>,
  target: string,
  stages: readonly string[],
): Map<string, string[]> {
  const next = new Map([...versions].map(([id, s]) => [id, [...s]]));
  if (!next.has(target)) next.set(target, []);
  for (const stage of stages) {
    for (const [id, held] of next) {
      if (id === target || !held.includes(stage)) continue;
      next.set(
        id,
        held.filter((s) => s !== stage),
      );
      if (stage === CURRENT && !stages.includes(PREVIOUS)) {
        for (const [other, s] of next)
          if (s.includes(PREVIOUS))
            next.set(
              other,
              s.filter((x) => x !== PREVIOUS),
            );
        next.set(id, [...(next.get(id) ?? []), PREVIOUS]);
      }
    }
    const own = next.get(target) ?? [];
    if (!own.includes(stage)) next.set(target, [...own, stage]);
  }
  return next;
}

/** Writes a new version and moves the labels as `moveStages` says, in one transaction. */
export async function addVersion(
  trx: Transaction<Database>,
  secret: SecretRow,
  version: { id: string; kind: "string" | "binary"; sealed: string; stages: string[]; at: number },
): Promise<void> {
  const versions = await versionsOf(trx, secret.arn);
  const moved = moveStages(
    new Map(versions.map((v) => [v.version_id, stagesOf(v)])),
    version.id,
    version.stages,
  );
  for (const v of versions) {
    const stages = moved.get(v.version_id) ?? [];
    if (JSON.stringify(stages) !== v.stages)
      await trx
        .updateTable("sm_secret_versions")
        .set({ stages: JSON.stringify(stages) })
        .where("secret_arn", "=", secret.arn)
        .where("version_id", "=", v.version_id)
        .execute();
  }
  await trx
    .insertInto("sm_secret_versions")
    .values({
      secret_arn: secret.arn,
      version_id: version.id,
      stages: JSON.stringify(moved.get(version.id) ?? []),
      kind: version.kind,
      sealed: version.sealed,
      created_at: version.at,
      accessed_at: null,
    })
    .execute();
  await trx
    .updateTable("sm_secrets")
    .set({ changed_at: version.at })
    .where("arn", "=", secret.arn)
    .execute();
}

/** The context a version's value is sealed under: it opens on this secret and version only. */
export const sealContext = (secretArn: string, versionId: string): string =>
  `secretsmanager:${secretArn}:${versionId}`;

/** A value as the wire carries it: a blob is base64 in JSON (validate.ts leaves it so). */
export interface SecretValue {
  SecretString?: string;
  SecretBinary?: Uint8Array | string;
}

/** A binary value's bytes, from the wire's base64 or the SDK types' bytes. */
export const binaryOf = (value: Uint8Array | string): Buffer =>
  typeof value === "string" ? Buffer.from(value, "base64") : Buffer.from(value);

export function sealValue(
  sealer: ValueSealer,
  secretArn: string,
  versionId: string,
  value: SecretValue,
): { kind: "string" | "binary"; sealed: string } {
  return value.SecretBinary !== undefined
    ? {
        kind: "binary",
        sealed: sealer.seal(binaryOf(value.SecretBinary), sealContext(secretArn, versionId)),
      }
    : {
        kind: "string",
        sealed: sealer.seal(value.SecretString ?? "", sealContext(secretArn, versionId)),
      };
}

export function openValue(sealer: ValueSealer, version: VersionRow): SecretValue {
  const bytes = sealer.open(version.sealed, sealContext(version.secret_arn, version.version_id));
  return version.kind === "binary"
    ? { SecretBinary: bytes.toString("base64") }
    : { SecretString: bytes.toString("utf8") };
}

/** The version a Get names: by id, by label, or AWSCURRENT. */
export function pickVersion(
  versions: readonly VersionRow[],
  versionId: string | undefined,
  versionStage: string | undefined,
): VersionRow | undefined {
  return versions.find(
    (v) =>
      (versionId === undefined || v.version_id === versionId) &&
      (versionStage === undefined && versionId !== undefined
        ? true
        : stagesOf(v).includes(versionStage ?? CURRENT)),
  );
}

/** AWS keeps LastAccessedDate to the day. */
export const dayOf = (ms: number): number => ms - (ms % (24 * 60 * 60 * 1000));
