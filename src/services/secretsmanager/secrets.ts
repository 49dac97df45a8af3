/**
 * The secret itself: CreateSecret, DescribeSecret, ListSecrets, UpdateSecret, DeleteSecret
 * (recovery window or at once) and RestoreSecret, TagResource and UntagResource.
 */
import { randomUUID } from "node:crypto";
import type * as sm from "@aws-sdk/client-secrets-manager";
import { page, type RequestContext, type Handlers } from "../../aws/index.js";
import type { ValueSealer } from "../../core/index.js";
import {
  fromKeyValue,
  isUniqueViolation,
  putTags,
  readTags,
  removeTags,
  toKeyValue,
  type Store,
} from "../../store/index.js";
import {
  bothValues,
  invalidParameter,
  markedForDeletion,
  nameScheduledForDeletion,
  secretExists,
} from "./errors.js";
import {
  CURRENT,
  addVersion,
  dayOf,
  deleteSecretNow,
  findSecret,
  purgeExpired,
  requireLiveSecret,
  requireSecret,
  sealValue,
  secretArn,
  stagesOf,
  versionsOf,
  type SecretRow,
} from "./records.js";
import { putValue } from "./values.js";

const DAY_MS = 24 * 60 * 60 * 1000;
const MAX_TAGS = 50;

export function secretHandlers(store: Store, sealer: ValueSealer) {
  const now = (ctx: RequestContext): number => ctx.clock.now().getTime();

  return {
    createSecret: async (input, ctx) => {
      await purgeExpired(store, now(ctx));
      if (input.SecretString !== undefined && input.SecretBinary !== undefined) throw bothValues();
      checkTags(input.Tags ?? []);
      const name = input.Name ?? "";
      const existing = await findSecret(store, name);
      if (existing !== undefined)
        throw existing.deleted_at !== null ? nameScheduledForDeletion() : secretExists(name);
      const at = now(ctx);
      const arn = secretArn(ctx.identity, name);
      const hasValue = input.SecretString !== undefined || input.SecretBinary !== undefined;
      const versionId = input.ClientRequestToken ?? randomUUID();
      try {
        await store.transaction().execute(async (trx) => {
          const row: SecretRow = {
            arn,
            name,
            description: input.Description ?? null,
            kms_key_id: input.KmsKeyId ?? null,
            created_at: at,
            changed_at: at,
            accessed_at: null,
            deleted_at: null,
            delete_after: null,
          };
          await trx.insertInto("sm_secrets").values(row).execute();
          await putTags(trx, arn, fromKeyValue(input.Tags ?? []));
          if (hasValue)
            await addVersion(trx, row, {
              id: versionId,
              ...sealValue(sealer, arn, versionId, input),
              stages: [CURRENT],
              at,
            });
        });
      } catch (error) {
        if (isUniqueViolation(error)) throw secretExists(name);
        throw error;
      }
      return { ARN: arn, Name: name, ...(hasValue ? { VersionId: versionId } : {}) };
    },

    describeSecret: async (input, ctx) => {
      await purgeExpired(store, now(ctx));
      const secret = await requireSecret(store, input.SecretId ?? "");
      return {
        ...(await secretEntry(store, secret)),
        VersionIdsToStages: await versionsToStages(store, secret.arn),
      };
    },

    listSecrets: async (input, ctx) => {
      await purgeExpired(store, now(ctx));
      const rows = await store
        .selectFrom("sm_secrets")
        .selectAll()
        .orderBy("created_at")
        .orderBy("name")
        .execute();
      const entries = await Promise.all(
        rows
          .filter((row) => input.IncludePlannedDeletion === true || row.deleted_at === null)
          .map(async (row) => ({
            ...(await secretEntry(store, row)),
            SecretVersionsToStages: await versionsToStages(store, row.arn),
          })),
      );
      const matching = entries.filter((entry) =>
        (input.Filters ?? []).every((filter) => matchesFilter(entry, filter)),
      );
      if (input.SortOrder === "desc") matching.reverse();
      const { items, nextToken } = page(
        matching,
        { nextToken: input.NextToken, maxResults: input.MaxResults },
        100,
      );
      return { SecretList: items, ...(nextToken === undefined ? {} : { NextToken: nextToken }) };
    },

    updateSecret: async (input, ctx) => {
      await purgeExpired(store, now(ctx));
      if (input.SecretString !== undefined && input.SecretBinary !== undefined) throw bothValues();
      const secret = await requireLiveSecret(store, input.SecretId ?? "");
      await store
        .updateTable("sm_secrets")
        .set({
          ...(input.Description === undefined ? {} : { description: input.Description }),
          ...(input.KmsKeyId === undefined ? {} : { kms_key_id: input.KmsKeyId }),
          changed_at: now(ctx),
        })
        .where("arn", "=", secret.arn)
        .execute();
      if (input.SecretString === undefined && input.SecretBinary === undefined)
        return { ARN: secret.arn, Name: secret.name };
      const put = await putValue(store, sealer, secret, input, [CURRENT], now(ctx));
      return { ARN: secret.arn, Name: secret.name, VersionId: put.VersionId };
    },

    deleteSecret: async (input, ctx) => {
      await purgeExpired(store, now(ctx));
      const force = input.ForceDeleteWithoutRecovery === true;
      if (force && input.RecoveryWindowInDays !== undefined)
        throw invalidParameter(
          "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.",
        );
      const days = input.RecoveryWindowInDays ?? 30;
      if (days < 7 || days > 30)
        throw invalidParameter(
          "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).",
        );
      const secret = await requireSecret(store, input.SecretId ?? "");
      const at = now(ctx);
      if (force) {
        await store.transaction().execute((trx) => deleteSecretNow(trx, secret.arn));
        return { ARN: secret.arn, Name: secret.name, DeletionDate: new Date(at) };
      }
      if (secret.deleted_at !== null) throw markedForDeletion();
      const deleteAfter = at + days * DAY_MS;
      await store
        .updateTable("sm_secrets")
        .set({ deleted_at: at, delete_after: deleteAfter })
        .where("arn", "=", secret.arn)
        .execute();
      return { ARN: secret.arn, Name: secret.name, DeletionDate: new Date(deleteAfter) };
    },

    restoreSecret: async (input, ctx) => {
      await purgeExpired(store, now(ctx));
      const secret = await requireSecret(store, input.SecretId ?? "");
      await store
        .updateTable("sm_secrets")
        .set({ deleted_at: null, delete_after: null })
        .where("arn", "=", secret.arn)
        .execute();
      return { ARN: secret.arn, Name: secret.name };
    },

    tagResource: async (input, ctx) => {
      await purgeExpired(store, now(ctx));
      const secret = await requireLiveSecret(store, input.SecretId ?? "");
      const tags = input.Tags ?? [];
      const held = await tagsOf(store, secret.arn);
      const keys = new Set([...held.map((t) => t.Key), ...tags.map((t) => t.Key)]);
      checkTags(tags, keys.size);
      await store.transaction().execute((trx) => putTags(trx, secret.arn, fromKeyValue(tags)));
      return {};
    },

    untagResource: async (input, ctx) => {
      await purgeExpired(store, now(ctx));
      const secret = await requireLiveSecret(store, input.SecretId ?? "");
      await removeTags(store, secret.arn, input.TagKeys ?? []);
      return {};
    },
  } satisfies Handlers<sm.SecretsManager>;
}

function checkTags(tags: readonly sm.Tag[], total = tags.length): void {
  if (total > MAX_TAGS)
    throw invalidParameter(`Number of tags exceeds the limit of ${MAX_TAGS} tags.`);
  for (const tag of tags)
    if ((tag.Key ?? "").toLowerCase().startsWith("aws:"))
      throw invalidParameter("Invalid tag key: tags with the prefix aws: are reserved.");
}

async function tagsOf(store: Store, resourceArn: string): Promise<sm.Tag[]> {
  return toKeyValue(await readTags(store, resourceArn));
}

async function versionsToStages(store: Store, arn: string): Promise<Record<string, string[]>> {
  const versions = await versionsOf(store, arn);
  return Object.fromEntries(
    versions.filter((v) => stagesOf(v).length > 0).map((v) => [v.version_id, stagesOf(v)]),
  );
}

/** What DescribeSecret and ListSecrets say of a secret besides its versions. */
async function secretEntry(store: Store, row: SecretRow): Promise<sm.SecretListEntry> {
  const tags = await tagsOf(store, row.arn);
  return {
    ARN: row.arn,
    Name: row.name,
    ...(row.description === null ? {} : { Description: row.description }),
    ...(row.kms_key_id === null ? {} : { KmsKeyId: row.kms_key_id }),
    RotationEnabled: false,
    LastChangedDate: new Date(row.changed_at),
    ...(row.accessed_at === null ? {} : { LastAccessedDate: new Date(dayOf(row.accessed_at)) }),
    ...(row.deleted_at === null ? {} : { DeletedDate: new Date(row.deleted_at) }),
    ...(tags.length === 0 ? {} : { Tags: tags }),
    CreatedDate: new Date(row.created_at),
  };
}

/** ListSecrets' filters: prefix matches (name, tag key and value case-sensitive), `!` negates. */
function matchesFilter(entry: sm.SecretListEntry, filter: sm.Filter): boolean {
  const values = filter.Values ?? [];
  const fields = (): string[] => {
    switch (filter.Key) {
      case "name":
        return [entry.Name ?? ""];
      case "description":
        return [entry.Description ?? ""];
      case "tag-key":
        return (entry.Tags ?? []).map((t) => t.Key ?? "");
      case "tag-value":
        return (entry.Tags ?? []).map((t) => t.Value ?? "");
      case "primary-region":
      case "owning-service":
        return [];
      default:
        return [
          entry.Name ?? "",
          entry.Description ?? "",
          ...(entry.Tags ?? []).flatMap((t) => [t.Key ?? "", t.Value ?? ""]),
        ];
    }
  };
  const caseless = filter.Key === "description" || filter.Key === "all";
  const norm = (s: string): string => (caseless ? s.toLowerCase() : s);
  return values.some((raw) => {
    const negate = raw.startsWith("!");
    const value = norm(negate ? raw.slice(1) : raw);
    const hit = fields().some((field) =>
      filter.Key === "all"
        ? norm(field)
            .split(/[\s/_+=.@-]+/)
            .some((word) => word.startsWith(value))
        : norm(field).startsWith(value),
    );
    return negate ? !hit : hit;
  });
}
