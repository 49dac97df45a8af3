/**
 * A secret's values: PutSecretValue, GetSecretValue, ListSecretVersionIds and
 * UpdateSecretVersionStage, and the read tasks' `secrets` go through (`readSecretValue`).
 */
import { randomUUID } from "node:crypto";
import type * as sm from "@aws-sdk/client-secrets-manager";
import { page, type RequestContext, type Handlers } from "../../aws/index.js";
import type { ValueSealer } from "../../core/index.js";
import type { Store } from "../../store/index.js";
import {
  bothValues,
  invalidParameter,
  invalidRequest,
  versionExists,
  versionNotFound,
} from "./errors.js";
import {
  addVersion,
  binaryOf,
  dayOf,
  moveStages,
  openValue,
  pickVersion,
  purgeExpired,
  requireLiveSecret,
  sealValue,
  stagesOf,
  versionsOf,
  type SecretRow,
  type SecretValue,
} from "./records.js";

/** A new version of `secret` (or, for a token already used with the same value, that one). */
export async function putValue(
  store: Store,
  sealer: ValueSealer,
  secret: SecretRow,
  input: SecretValue & { ClientRequestToken?: string },
  stages: string[],
  at: number,
): Promise<{ VersionId: string; VersionStages: string[] }> {
  const versionId = input.ClientRequestToken ?? randomUUID();
  return store.transaction().execute(async (trx) => {
    const versions = await versionsOf(trx, secret.arn);
    const same = versions.find((v) => v.version_id === versionId);
    if (same !== undefined) {
      // A retried call with the same token and value changes nothing, as on AWS.
      const held = openValue(sealer, same);
      const equal =
        input.SecretBinary !== undefined
          ? held.SecretBinary !== undefined &&
            binaryOf(held.SecretBinary).equals(binaryOf(input.SecretBinary))
          : held.SecretString === (input.SecretString ?? "");
      if (!equal) throw versionExists();
      return { VersionId: versionId, VersionStages: stagesOf(same) };
    }
    await addVersion(trx, secret, {
      id: versionId,
      ...sealValue(sealer, secret.arn, versionId, input),
      stages,
      at,
    });
    const after = await versionsOf(trx, secret.arn);
    const added = after.find((v) => v.version_id === versionId);
    return { VersionId: versionId, VersionStages: added === undefined ? stages : stagesOf(added) };
  });
}

export interface SecretRead {
  ARN: string;
  Name: string;
  VersionId: string;
  VersionStages: string[];
  CreatedDate: Date;
  value: SecretValue;
}

/**
 * One version's value (AWSCURRENT unless asked otherwise), with its access recorded: what
 * GetSecretValue answers and what a task's `secrets` read (server/task-secrets.ts).
 */
export async function readSecretValue(
  store: Store,
  sealer: ValueSealer,
  request: { SecretId: string; VersionId?: string; VersionStage?: string },
  now: number,
): Promise<SecretRead> {
  await purgeExpired(store, now);
  const secret = await requireLiveSecret(store, request.SecretId);
  const versions = await versionsOf(store, secret.arn);
  const version = pickVersion(versions, request.VersionId, request.VersionStage);
  if (version === undefined)
    throw request.VersionId !== undefined
      ? versionNotFound("VersionId", request.VersionId)
      : versionNotFound("staging label", request.VersionStage ?? "AWSCURRENT");
  const day = dayOf(now);
  await store
    .updateTable("sm_secrets")
    .set({ accessed_at: day })
    .where("arn", "=", secret.arn)
    .execute();
  await store
    .updateTable("sm_secret_versions")
    .set({ accessed_at: day })
    .where("secret_arn", "=", secret.arn)
    .where("version_id", "=", version.version_id)
    .execute();
  return {
    ARN: secret.arn,
    Name: secret.name,
    VersionId: version.version_id,
    VersionStages: stagesOf(version),
    CreatedDate: new Date(version.created_at),
    value: openValue(sealer, version),
  };
}

export function valueHandlers(store: Store, sealer: ValueSealer) {
  const now = (ctx: RequestContext): number => ctx.clock.now().getTime();

  return {
    putSecretValue: async (input, ctx) => {
      await purgeExpired(store, now(ctx));
      if (input.SecretString !== undefined && input.SecretBinary !== undefined) throw bothValues();
      if (input.SecretString === undefined && input.SecretBinary === undefined)
        throw invalidRequest("You must provide either SecretString or SecretBinary.");
      const secret = await requireLiveSecret(store, input.SecretId ?? "");
      const stages = input.VersionStages ?? ["AWSCURRENT"];
      const put = await putValue(store, sealer, secret, input, stages, now(ctx));
      return { ARN: secret.arn, Name: secret.name, ...put };
    },

    getSecretValue: async (input, ctx) => {
      const read = await readSecretValue(
        store,
        sealer,
        {
          SecretId: input.SecretId ?? "",
          ...(input.VersionId === undefined ? {} : { VersionId: input.VersionId }),
          ...(input.VersionStage === undefined ? {} : { VersionStage: input.VersionStage }),
        },
        now(ctx),
      );
      return {
        ARN: read.ARN,
        Name: read.Name,
        VersionId: read.VersionId,
        // The SDK types a blob as bytes; on the JSON wire it is base64, which is what this is.
        ...(read.value as Pick<sm.GetSecretValueResponse, "SecretString" | "SecretBinary">),
        VersionStages: read.VersionStages,
        CreatedDate: read.CreatedDate,
      };
    },

    listSecretVersionIds: async (input, ctx) => {
      await purgeExpired(store, now(ctx));
      const secret = await requireLiveSecret(store, input.SecretId ?? "");
      const versions = (await versionsOf(store, secret.arn)).filter(
        (v) => input.IncludeDeprecated === true || stagesOf(v).length > 0,
      );
      const entries: sm.SecretVersionsListEntry[] = versions.map((v) => ({
        VersionId: v.version_id,
        VersionStages: stagesOf(v),
        ...(v.accessed_at === null ? {} : { LastAccessedDate: new Date(v.accessed_at) }),
        CreatedDate: new Date(v.created_at),
      }));
      const { items, nextToken } = page(
        entries,
        { nextToken: input.NextToken, maxResults: input.MaxResults },
        100,
      );
      return {
        Versions: items,
        ...(nextToken === undefined ? {} : { NextToken: nextToken }),
        ARN: secret.arn,
        Name: secret.name,
      };
    },

    updateSecretVersionStage: async (input, ctx) => {
      await purgeExpired(store, now(ctx));
      const secret = await requireLiveSecret(store, input.SecretId ?? "");
      const stage = input.VersionStage ?? "";
      await store.transaction().execute(async (trx) => {
        const versions = await versionsOf(trx, secret.arn);
        const holder = versions.find((v) => stagesOf(v).includes(stage));
        if (
          input.MoveToVersionId !== undefined &&
          !versions.some((v) => v.version_id === input.MoveToVersionId)
        )
          throw versionNotFound("VersionId", input.MoveToVersionId);
        if (holder !== undefined && holder.version_id !== input.MoveToVersionId) {
          if (input.RemoveFromVersionId !== holder.version_id)
            throw invalidParameter(
              `The parameter RemoveFromVersionId can't be empty. Staging label ${stage} is currently attached to version ${holder.version_id}, so you must explicitly reference that version in RemoveFromVersionId.`,
            );
        }
        let stages = new Map(versions.map((v) => [v.version_id, stagesOf(v)]));
        if (input.MoveToVersionId !== undefined)
          stages = moveStages(stages, input.MoveToVersionId, [stage]);
        else if (input.RemoveFromVersionId !== undefined) {
          if (stage === "AWSCURRENT")
            throw invalidParameter(
              "You can only move staging label AWSCURRENT to a different secret version. It can't be completely removed.",
            );
          const held = stages.get(input.RemoveFromVersionId) ?? [];
          stages.set(
            input.RemoveFromVersionId,
            held.filter((s) => s !== stage),
          );
        }
        for (const v of versions) {
          const next = JSON.stringify(stages.get(v.version_id) ?? []);
          if (next !== v.stages)
            await trx
              .updateTable("sm_secret_versions")
              .set({ stages: next })
              .where("secret_arn", "=", secret.arn)
              .where("version_id", "=", v.version_id)
              .execute();
        }
      });
      return { ARN: secret.arn, Name: secret.name };
    },
  } satisfies Handlers<sm.SecretsManager>;
}
