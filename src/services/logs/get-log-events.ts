/**
 * GetLogEvents: one stream, forward from the head or backward from the tail, with AWS's token
 * rules: nextForwardToken points after the last event returned and nextBackwardToken before
 * the first; when nothing is left in a direction, the token passed in comes back unchanged.
 */
import type {
  GetLogEventsRequest,
  GetLogEventsResponse,
  OutputLogEvent,
} from "@aws-sdk/client-cloudwatch-logs";
import type { RequestContext } from "../../aws/index.js";
import type { Store } from "../../store/index.js";
import { eventBytes, MAX_RESPONSE_BYTES, scanEvents, type EventRow } from "./event-scan.js";
import { requireGroupByIdentifier, requireStream, retentionCutoff } from "./resources.js";
import { decodeEventToken, encodeEventToken, HEAD, type EventPosition } from "./tokens.js";

const MAX_EVENTS = 10_000;

const positionOf = (row: EventRow): EventPosition => ({ timestamp: row.timestamp, seq: row.seq });

export function getLogEventsHandler(store: Store) {
  return async (input: GetLogEventsRequest, ctx: RequestContext): Promise<GetLogEventsResponse> => {
    const group = await requireGroupByIdentifier(store, ctx.identity, input);
    const stream = await requireStream(store, group.id, input.logStreamName as string);
    const token =
      input.nextToken === undefined ? undefined : decodeEventToken(input.nextToken, stream.id);
    // A token's direction decides; startFromHead only chooses where a first call begins.
    const forward = token === undefined ? input.startFromHead === true : token.direction === "f";
    const limit = input.limit ?? MAX_EVENTS;
    const page: EventRow[] = [];
    let bytes = 0;
    // Events past the group's retention are never returned, even before the sweep removes
    // them (AWS may still return them for up to 72 hours).
    const scan = scanEvents(store, {
      groupId: group.id,
      streams: { id: stream.id },
      from: Math.max(input.startTime ?? 0, retentionCutoff(group, ctx.clock.now())),
      ...(input.endTime === undefined ? {} : { until: input.endTime }),
      ...(token === undefined ? {} : { anchor: token.position }),
      descending: !forward,
      batchSize: Math.min(limit, 1000),
    });
    for await (const row of scan) {
      if (page.length >= limit || bytes + eventBytes(row) > MAX_RESPONSE_BYTES) break;
      page.push(row);
      bytes += eventBytes(row);
    }
    if (!forward) page.reverse();

    const first = page[0];
    const last = page[page.length - 1];
    let nextForwardToken: string;
    let nextBackwardToken: string;
    if (first === undefined || last === undefined) {
      const at = token?.position ?? HEAD;
      nextForwardToken = encodeEventToken("f", stream.id, at);
      nextBackwardToken = encodeEventToken("b", stream.id, at);
      if (token !== undefined && input.nextToken !== undefined) {
        if (token.direction === "f") nextForwardToken = input.nextToken;
        else nextBackwardToken = input.nextToken;
      }
    } else {
      nextForwardToken = encodeEventToken("f", stream.id, positionOf(last));
      nextBackwardToken = encodeEventToken("b", stream.id, positionOf(first));
    }
    const events: OutputLogEvent[] = page.map((row) => ({
      timestamp: row.timestamp,
      message: row.message,
      ingestionTime: row.ingested_at,
    }));
    return { events, nextForwardToken, nextBackwardToken };
  };
}
