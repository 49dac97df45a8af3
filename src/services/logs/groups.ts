/** Log groups: create, delete (with everything in them), describe (paged), retention. */
import type { CloudWatchLogs } from "@aws-sdk/client-cloudwatch-logs";
import { sql } from "kysely";
import { decodeToken, encodeToken, type Handlers } from "../../aws/index.js";
import { positionOf, type Store } from "../../store/index.js";
import { invalidParameter, logGroupAlreadyExists } from "./errors.js";
import { RETENTION_DAYS, requireGroup, toLogGroup } from "./resources.js";

const DEFAULT_LIMIT = 50;

/** Creates a group; false if one of that name exists already. */
export async function insertGroup(
  store: Store,
  name: string,
  now: Date,
  options: { kmsKeyId?: string; tags?: Record<string, string> } = {},
): Promise<boolean> {
  const result = await store
    .insertInto("log_groups")
    .values({
      name,
      created_at: now.getTime(),
      retention_days: null,
      kms_key_id: options.kmsKeyId ?? null,
      stored_bytes: 0,
      tags: JSON.stringify(options.tags ?? {}),
    })
    .onConflict((oc) => oc.column("name").doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
}

function retentionProblem(days: number): string {
  return (
    `1 validation error detected: Value '${days}' at 'retentionInDays' failed to satisfy ` +
    `constraint: Member must satisfy enum value set: [${RETENTION_DAYS.join(", ")}]`
  );
}

export function groupHandlers(store: Store) {
  return {
    createLogGroup: async (input, ctx) => {
      const name = input.logGroupName as string;
      const created = await insertGroup(store, name, ctx.clock.now(), {
        ...(input.kmsKeyId === undefined ? {} : { kmsKeyId: input.kmsKeyId }),
        ...(input.tags === undefined ? {} : { tags: input.tags }),
      });
      if (!created) throw logGroupAlreadyExists();
      return {};
    },

    deleteLogGroup: async (input) => {
      const group = await requireGroup(store, input.logGroupName as string);
      await store.transaction().execute(async (trx) => {
        await trx.deleteFrom("log_events").where("group_id", "=", group.id).execute();
        await trx.deleteFrom("log_streams").where("group_id", "=", group.id).execute();
        await trx.deleteFrom("log_groups").where("id", "=", group.id).execute();
      });
      return {};
    },

    describeLogGroups: async (input, ctx) => {
      const prefix = input.logGroupNamePrefix;
      const pattern = input.logGroupNamePattern;
      if (prefix !== undefined && pattern !== undefined)
        throw invalidParameter(
          "LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.",
        );
      // AWS's token is the last group name shown, and a token it did not hand out answers an
      // empty page rather than an error; so does Berth's (an opaque one).
      let after: string | undefined;
      try {
        after = decodeToken<{ n: string }>(input.nextToken)?.n;
      } catch {
        after = undefined;
      }
      if (input.nextToken !== undefined && typeof after !== "string") return { logGroups: [] };
      const limit = input.limit ?? DEFAULT_LIMIT;
      let query = store
        .selectFrom("log_groups")
        .selectAll()
        .orderBy("name")
        .limit(limit + 1);
      if (after !== undefined) query = query.where("name", ">", after);
      if (prefix !== undefined)
        query = query
          .where("name", ">=", prefix)
          .where(sql<string>`substr(name, 1, ${prefix.length})`, "=", prefix);
      if (pattern !== undefined && pattern !== "")
        query = query.where(positionOf(store, "name", pattern), ">", 0);
      const rows = await query.execute();
      const shown = rows.slice(0, limit);
      const last = shown[shown.length - 1];
      return {
        logGroups: shown.map((row) => toLogGroup(row, ctx.identity)),
        ...(rows.length > limit && last !== undefined
          ? { nextToken: encodeToken({ n: last.name }) }
          : {}),
      };
    },

    putRetentionPolicy: async (input) => {
      const days = input.retentionInDays as number;
      if (!(RETENTION_DAYS as readonly number[]).includes(days))
        throw invalidParameter(retentionProblem(days));
      const group = await requireGroup(store, input.logGroupName as string);
      await store
        .updateTable("log_groups")
        .set({ retention_days: days })
        .where("id", "=", group.id)
        .execute();
      return {};
    },

    deleteRetentionPolicy: async (input) => {
      const group = await requireGroup(store, input.logGroupName as string);
      await store
        .updateTable("log_groups")
        .set({ retention_days: null })
        .where("id", "=", group.id)
        .execute();
      return {};
    },
  } satisfies Handlers<CloudWatchLogs>;
}
