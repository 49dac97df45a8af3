/**
 * FilterLogEvents: a whole group (or some of its streams) in timestamp order, interleaved
 * across streams, through a filter pattern. A call scans a bounded number of events; when it
 * stops early it gives a nextToken, and like AWS it may return few or no events with one.
 */
import type {
  FilterLogEventsRequest,
  FilterLogEventsResponse,
  FilteredLogEvent,
} from "@aws-sdk/client-cloudwatch-logs";
import { decodeToken, encodeToken, type RequestContext } from "../../aws/index.js";
import type { Store } from "../../store/index.js";
import { invalidNextToken, invalidParameter } from "./errors.js";
import { eventBytes, MAX_RESPONSE_BYTES, scanEvents, type ScanOptions } from "./event-scan.js";
import { compileFilterPattern } from "./filter-pattern.js";
import { requireGroupByIdentifier, retentionCutoff } from "./resources.js";
import { eventId, type EventPosition } from "./tokens.js";

const DEFAULT_LIMIT = 10_000;
/** Events examined per call before answering with a nextToken: bounds a call's time. */
const SCAN_BUDGET = 100_000;

function readCursor(token: string | undefined, groupId: number): EventPosition | undefined {
  const cursor = decodeToken<Record<string, string | number>>(token);
  if (cursor === undefined) return undefined;
  const { g, t, s } = cursor;
  if (g !== groupId || typeof t !== "number" || typeof s !== "number") throw invalidNextToken();
  return { timestamp: t, seq: s };
}

export function filterLogEventsHandler(store: Store) {
  return async (
    input: FilterLogEventsRequest,
    ctx: RequestContext,
  ): Promise<FilterLogEventsResponse> => {
    const group = await requireGroupByIdentifier(store, ctx.identity, input);
    if (input.logStreamNames !== undefined && input.logStreamNamePrefix !== undefined)
      throw invalidParameter(
        "logStreamNames and logStreamNamePrefix are mutually exclusive parameters.",
      );
    const matches = compileFilterPattern(input.filterPattern);
    const anchor = readCursor(input.nextToken, group.id);

    let streams: ScanOptions["streams"];
    const names = new Map<number, string>();
    if (input.logStreamNames !== undefined) {
      // Names of streams that do not exist select nothing.
      const rows = await store
        .selectFrom("log_streams")
        .select(["id", "name"])
        .where("group_id", "=", group.id)
        .where("name", "in", input.logStreamNames)
        .execute();
      for (const row of rows) names.set(row.id, row.name);
      streams = { ids: rows.map((row) => row.id) };
    } else if (input.logStreamNamePrefix !== undefined) {
      streams = { prefix: input.logStreamNamePrefix };
    }

    const limit = input.limit ?? DEFAULT_LIMIT;
    const events: FilteredLogEvent[] = [];
    let bytes = 0;
    let scanned = 0;
    let stoppedAt: EventPosition | undefined;
    const scan = scanEvents(store, {
      groupId: group.id,
      ...(streams === undefined ? {} : { streams }),
      // Past the group's retention nothing is returned (AWS may for up to 72 hours).
      from: Math.max(input.startTime ?? 0, retentionCutoff(group, ctx.clock.now())),
      ...(input.endTime === undefined ? {} : { until: input.endTime, untilInclusive: true }),
      ...(anchor === undefined ? {} : { anchor }),
    });
    for await (const row of scan) {
      const position = { timestamp: row.timestamp, seq: row.seq };
      if (scanned >= SCAN_BUDGET) {
        stoppedAt = { timestamp: row.timestamp, seq: row.seq - 1 };
        break;
      }
      scanned++;
      if (!matches(row.message)) continue;
      if (bytes + eventBytes(row) > MAX_RESPONSE_BYTES) {
        // Resume at this event: it did not fit.
        stoppedAt = { timestamp: row.timestamp, seq: row.seq - 1 };
        break;
      }
      events.push({
        logStreamName: await streamName(store, names, row.stream_id),
        timestamp: row.timestamp,
        message: row.message,
        ingestionTime: row.ingested_at,
        eventId: eventId(row.stream_id, position),
      });
      bytes += eventBytes(row);
      if (events.length >= limit) {
        stoppedAt = position;
        break;
      }
    }
    return {
      events,
      // Deprecated by AWS in 2020, which answers it empty.
      searchedLogStreams: [],
      ...(stoppedAt === undefined
        ? {}
        : { nextToken: encodeToken({ g: group.id, t: stoppedAt.timestamp, s: stoppedAt.seq }) }),
    };
  };
}

async function streamName(store: Store, names: Map<number, string>, id: number): Promise<string> {
  let name = names.get(id);
  if (name === undefined) {
    const row = await store
      .selectFrom("log_streams")
      .select("name")
      .where("id", "=", id)
      .executeTakeFirst();
    name = row?.name ?? "";
    names.set(id, name);
  }
  return name;
}
