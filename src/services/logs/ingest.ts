/**
 * Writing events: PutLogEvents with AWS's batch rules, and `appendLogEvents`, the direct path
 * the awslogs driver uses to ship container output without going through HTTP.
 */
import type { CloudWatchLogs, RejectedLogEventsInfo } from "@aws-sdk/client-cloudwatch-logs";
import { sql } from "kysely";
import type { Handlers } from "../../aws/index.js";
import type { Identity } from "../../core/index.js";
import { larger, smaller, type Store } from "../../store/index.js";
import { invalidParameter, logGroupNotFound } from "./errors.js";
import { insertGroup } from "./groups.js";
import {
  DAY_MS,
  findGroup,
  findStream,
  groupArn,
  requireGroup,
  requireStream,
  retentionCutoff,
  type GroupRow,
  type StreamRow,
} from "./resources.js";
import { insertStream } from "./streams.js";
import { sequenceToken } from "./tokens.js";

/** AWS counts each event's UTF-8 message plus 26 bytes against a batch's 1 MiB. */
export const EVENT_OVERHEAD_BYTES = 26;
export const MAX_BATCH_BYTES = 1_048_576;
const MAX_PAST_MS = 14 * DAY_MS;
const MAX_FUTURE_MS = 2 * 60 * 60 * 1000;
/** Docker's awslogs driver splits lines longer than this into several events. */
export const MAX_SHIPPED_MESSAGE_BYTES = 262_144 - EVENT_OVERHEAD_BYTES;
/** Rows per INSERT statement: well under SQLite's limit on bound parameters. */
const INSERT_CHUNK = 500;

interface NewEvent {
  timestamp: number;
  message: string;
}

/** Stores `events` (already accepted) in `stream`; returns the last event's sequence. */
async function storeEvents(
  store: Store,
  group: GroupRow,
  stream: StreamRow,
  events: NewEvent[],
  now: Date,
): Promise<number> {
  const ingestedAt = now.getTime();
  let bytes = 0;
  let first = Infinity;
  let last = -Infinity;
  let lastSeq = 0;
  for (let i = 0; i < events.length; i += INSERT_CHUNK) {
    const chunk = events.slice(i, i + INSERT_CHUNK);
    const inserted = await store
      .insertInto("log_events")
      .values(
        chunk.map((event) => {
          bytes += Buffer.byteLength(event.message, "utf8");
          first = Math.min(first, event.timestamp);
          last = Math.max(last, event.timestamp);
          return {
            group_id: group.id,
            stream_id: stream.id,
            timestamp: event.timestamp,
            ingested_at: ingestedAt,
            message: event.message,
          };
        }),
      )
      .returning("seq")
      .execute();
    for (const row of inserted) lastSeq = Math.max(lastSeq, Number(row.seq));
  }
  if (events.length === 0) return lastSeq;
  await store
    .updateTable("log_streams")
    .set({
      first_event_at: smaller(store, sql<number>`coalesce(first_event_at, ${first})`, first),
      last_event_at: larger(store, sql<number>`coalesce(last_event_at, ${last})`, last),
      last_ingestion_at: ingestedAt,
    })
    .where("id", "=", stream.id)
    .execute();
  await store
    .updateTable("log_groups")
    .set({ stored_bytes: sql<number>`stored_bytes + ${bytes}` })
    .where("id", "=", group.id)
    .execute();
  return lastSeq;
}

/** Checks a PutLogEvents batch as AWS does; the events it keeps and what it rejected. */
export function checkBatch(
  events: NewEvent[],
  now: Date,
  retentionFrom: number,
): { accepted: NewEvent[]; rejected?: RejectedLogEventsInfo } {
  const bytes = events.reduce(
    (sum, event) => sum + Buffer.byteLength(event.message, "utf8") + EVENT_OVERHEAD_BYTES,
    0,
  );
  if (bytes > MAX_BATCH_BYTES)
    throw invalidParameter(`Upload too large: ${bytes} bytes exceeds limit of ${MAX_BATCH_BYTES}`);
  for (let i = 1; i < events.length; i++) {
    if ((events[i] as NewEvent).timestamp < (events[i - 1] as NewEvent).timestamp)
      throw invalidParameter(
        "Log events in a single PutLogEvents request must be in chronological order.",
      );
  }
  const first = events[0]?.timestamp ?? 0;
  const last = events[events.length - 1]?.timestamp ?? 0;
  if (last - first > DAY_MS)
    throw invalidParameter(
      "The batch of log events in a single PutLogEvents request cannot span more than 24 hours.",
    );
  const tooOldBefore = now.getTime() - MAX_PAST_MS;
  const tooNewAfter = now.getTime() + MAX_FUTURE_MS;
  const rejected: RejectedLogEventsInfo = {};
  const accepted: NewEvent[] = [];
  events.forEach((event, index) => {
    // Events are in order, so the too-old and expired ones lead and the too-new ones trail.
    if (event.timestamp < tooOldBefore) rejected.tooOldLogEventEndIndex = index;
    if (event.timestamp < retentionFrom) rejected.expiredLogEventEndIndex = index;
    if (event.timestamp > tooNewAfter) rejected.tooNewLogEventStartIndex ??= index;
    if (
      event.timestamp >= tooOldBefore &&
      event.timestamp >= retentionFrom &&
      event.timestamp <= tooNewAfter
    )
      accepted.push(event);
  });
  return Object.keys(rejected).length > 0 ? { accepted, rejected } : { accepted };
}

export function ingestHandlers(store: Store) {
  return {
    putLogEvents: async (input, ctx) => {
      // The sequence token is accepted and ignored, as AWS has done since January 2023.
      const now = ctx.clock.now();
      const events = (input.logEvents ?? []).map((event) => ({
        timestamp: event.timestamp as number,
        message: event.message as string,
      }));
      // Looked up inside the transaction, so a stream deleted meanwhile takes no orphans.
      const { lastSeq, rejected } = await store.transaction().execute(async (trx) => {
        const group = await requireGroup(trx, input.logGroupName as string);
        const stream = await requireStream(trx, group.id, input.logStreamName as string);
        const batch = checkBatch(events, now, retentionCutoff(group, now));
        const seq = await storeEvents(trx, group, stream, batch.accepted, now);
        return { lastSeq: seq, rejected: batch.rejected };
      });
      return {
        nextSequenceToken: sequenceToken(lastSeq),
        ...(rejected === undefined ? {} : { rejectedLogEventsInfo: rejected }),
      };
    },
  } satisfies Handlers<CloudWatchLogs>;
}

/** `message` cut into pieces of at most `maxBytes` UTF-8 bytes, never inside a character. */
export function splitMessage(message: string, maxBytes = MAX_SHIPPED_MESSAGE_BYTES): string[] {
  if (message.length * 3 <= maxBytes) return [message];
  const bytes = Buffer.from(message, "utf8");
  if (bytes.length <= maxBytes) return [message];
  const pieces: string[] = [];
  let start = 0;
  while (start < bytes.length) {
    let end = Math.min(start + maxBytes, bytes.length);
    // Back up over UTF-8 continuation bytes (10xxxxxx) so a character stays whole.
    while (end < bytes.length && end > start && ((bytes[end] as number) & 0xc0) === 0x80) end--;
    pieces.push(bytes.toString("utf8", start, end));
    start = end;
  }
  return pieces;
}

export interface AppendLogEventsRequest {
  group: string;
  stream: string;
  /** Create the group when it does not exist (awslogs-create-group); otherwise that fails. */
  createGroup?: boolean;
  /**
   * Lines in the order they were written. `offset` (any number that grows along the source,
   * such as a byte offset in the container's log file) makes a resend harmless: a line whose
   * offset is not above the stream's last applied offset is skipped.
   */
  events: ReadonlyArray<{ timestamp: number; message: string; offset?: number }>;
  /**
   * Asked before the writes the append will make, with AWS's action and resource ARN
   * (logs:CreateLogGroup, logs:CreateLogStream, logs:PutLogEvents); throws to refuse them all.
   * The awslogs driver's caller acts as the task's execution role through it.
   */
  authorize?: { identity: Identity; check: (action: string, resourceArn: string) => Promise<void> };
}

export interface AppendLogEventsResult {
  /** Events stored (a long line counts once per piece). */
  appended: number;
  /** Lines skipped because their offset was applied before. */
  skipped: number;
  /** The stream's last applied offset after this call (null if no offset was ever given). */
  appendOffset: number | null;
}

/**
 * Appends lines to a stream in one transaction, creating the stream (and, if asked, the
 * group). Lines keep their order: a timestamp below the stream's last one is raised to it, so
 * reading the stream in CloudWatch's timestamp order gives the lines as they were written.
 * Empty lines are dropped and lines over 256 KiB are split, as Docker's awslogs driver does.
 */
export async function appendLogEvents(
  store: Store,
  request: AppendLogEventsRequest,
  now: Date = new Date(),
): Promise<AppendLogEventsResult> {
  // Asked outside the transaction (the evaluator reads the store): a group or stream made in
  // between costs at most a permission asked for nothing.
  if (request.authorize !== undefined) await authorizeAppend(store, request, request.authorize);
  return store.transaction().execute(async (trx) => {
    let group = await findGroup(trx, request.group);
    if (group === undefined) {
      if (request.createGroup !== true) throw logGroupNotFound();
      await insertGroup(trx, request.group, now);
      group = await requireGroup(trx, request.group);
    }
    let stream = await findStream(trx, group.id, request.stream);
    if (stream === undefined) {
      await insertStream(trx, group.id, request.stream, now);
      stream = await requireStream(trx, group.id, request.stream);
    }
    let applied = stream.append_offset;
    let floor = stream.last_event_at ?? 0;
    let skipped = 0;
    const events: NewEvent[] = [];
    for (const line of request.events) {
      if (line.offset !== undefined) {
        if (applied !== null && line.offset <= applied) {
          skipped++;
          continue;
        }
        applied = line.offset;
      }
      floor = Math.max(floor, Math.trunc(line.timestamp));
      if (line.message === "") continue;
      for (const piece of splitMessage(line.message))
        events.push({ timestamp: floor, message: piece });
    }
    await storeEvents(trx, group, stream, events, now);
    if (applied !== stream.append_offset)
      await trx
        .updateTable("log_streams")
        .set({ append_offset: applied })
        .where("id", "=", stream.id)
        .execute();
    return { appended: events.length, skipped, appendOffset: applied };
  });
}

async function authorizeAppend(
  store: Store,
  request: AppendLogEventsRequest,
  { identity, check }: NonNullable<AppendLogEventsRequest["authorize"]>,
): Promise<void> {
  const group = await findGroup(store, request.group);
  const streamArn = `${groupArn(identity, request.group)}:log-stream:${request.stream}`;
  // The group's ARN as the Logs API authorizes CreateLogGroup (index.ts), so one policy serves both.
  if (group === undefined && request.createGroup === true)
    await check("logs:CreateLogGroup", `${groupArn(identity, request.group)}:*`);
  if (group === undefined || (await findStream(store, group.id, request.stream)) === undefined)
    await check("logs:CreateLogStream", streamArn);
  if (request.events.length > 0) await check("logs:PutLogEvents", streamArn);
}
