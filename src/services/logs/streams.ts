/** Log streams: create, delete, and describe (by name or by last event time, paged). */
import type { CloudWatchLogs } from "@aws-sdk/client-cloudwatch-logs";
import { sql } from "kysely";
import { decodeToken, encodeToken, type Handlers } from "../../aws/index.js";
import { larger, type Store } from "../../store/index.js";
import { invalidNextToken, invalidParameter, logStreamAlreadyExists } from "./errors.js";
import {
  requireGroup,
  requireGroupByIdentifier,
  requireStream,
  toLogStream,
  type StreamRow,
} from "./resources.js";

const DEFAULT_LIMIT = 50;

/** Creates a stream; false if the group has one of that name already. */
export async function insertStream(
  store: Store,
  groupId: number,
  name: string,
  now: Date,
): Promise<boolean> {
  const result = await store
    .insertInto("log_streams")
    .values({
      group_id: groupId,
      name,
      created_at: now.getTime(),
      first_event_at: null,
      last_event_at: null,
      last_ingestion_at: null,
      append_offset: null,
    })
    .onConflict((oc) => oc.columns(["group_id", "name"]).doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
}

/**
 * Where the last page ended: the stream name `n` and, ordering by time, its key `t`; `o` is
 * the order the token was made for ("n" by name, "t" by last event time).
 */
function readCursor(
  token: string | undefined,
  order: "n" | "t",
): { n: string; t: number } | undefined {
  const cursor = decodeToken<Record<string, string | number>>(token);
  if (cursor === undefined) return undefined;
  const { o, n, t } = cursor;
  if (o !== order || typeof n !== "string" || (order === "t" && typeof t !== "number"))
    throw invalidNextToken();
  return { n, t: typeof t === "number" ? t : -1 };
}

/** Streams without events sort as if their last event were at -1, before every other. */
const lastEventKey = sql<number>`coalesce(last_event_at, -1)`;

export function streamHandlers(store: Store) {
  return {
    createLogStream: async (input, ctx) => {
      const group = await requireGroup(store, input.logGroupName as string);
      const created = await insertStream(
        store,
        group.id,
        input.logStreamName as string,
        ctx.clock.now(),
      );
      if (!created) throw logStreamAlreadyExists();
      return {};
    },

    deleteLogStream: async (input) => {
      const group = await requireGroup(store, input.logGroupName as string);
      const stream = await requireStream(store, group.id, input.logStreamName as string);
      await store.transaction().execute(async (trx) => {
        const { bytes } = await trx
          .selectFrom("log_events")
          .select(sql<number>`coalesce(sum(octet_length(message)), 0)`.as("bytes"))
          .where("group_id", "=", group.id)
          .where("stream_id", "=", stream.id)
          .executeTakeFirstOrThrow();
        await trx
          .deleteFrom("log_events")
          .where("group_id", "=", group.id)
          .where("stream_id", "=", stream.id)
          .execute();
        await trx.deleteFrom("log_streams").where("id", "=", stream.id).execute();
        await trx
          .updateTable("log_groups")
          .set({ stored_bytes: larger(trx, sql<number>`stored_bytes - ${bytes}`, 0) })
          .where("id", "=", group.id)
          .execute();
      });
      return {};
    },

    describeLogStreams: async (input, ctx) => {
      const group = await requireGroupByIdentifier(store, ctx.identity, input);
      const byTime = input.orderBy === "LastEventTime";
      const prefix = input.logStreamNamePrefix;
      if (byTime && prefix !== undefined)
        throw invalidParameter("Cannot order by LastEventTime with a logStreamNamePrefix.");
      const order = byTime ? "t" : "n";
      const cursor = readCursor(input.nextToken, order);
      const descending = input.descending === true;
      const direction = descending ? "desc" : "asc";
      const limit = input.limit ?? DEFAULT_LIMIT;

      let query = store
        .selectFrom("log_streams")
        .selectAll()
        .where("group_id", "=", group.id)
        .limit(limit + 1);
      if (prefix !== undefined)
        query = query
          .where("name", ">=", prefix)
          .where(sql<string>`substr(name, 1, ${prefix.length})`, "=", prefix);
      if (byTime) {
        query = query.orderBy(lastEventKey, direction).orderBy("name", direction);
        if (cursor !== undefined)
          query = query.where(
            descending
              ? sql<boolean>`(${lastEventKey}, name) < (${cursor.t}, ${cursor.n})`
              : sql<boolean>`(${lastEventKey}, name) > (${cursor.t}, ${cursor.n})`,
          );
      } else {
        query = query.orderBy("name", direction);
        if (cursor !== undefined) query = query.where("name", descending ? "<" : ">", cursor.n);
      }
      const rows: StreamRow[] = await query.execute();
      const shown = rows.slice(0, limit);
      const last = shown[shown.length - 1];
      const next: Record<string, string | number> | undefined =
        rows.length > limit && last !== undefined
          ? { o: order, n: last.name, ...(byTime ? { t: last.last_event_at ?? -1 } : {}) }
          : undefined;
      return {
        logStreams: shown.map((row) => toLogStream(row, group.name, ctx.identity)),
        ...(next === undefined ? {} : { nextToken: encodeToken(next) }),
      };
    },
  } satisfies Handlers<CloudWatchLogs>;
}
