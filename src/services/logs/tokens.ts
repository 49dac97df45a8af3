/**
 * Positions in a log stream as GetLogEvents hands them out: `f/<56 digits>/s` to read forward
 * after an event, `b/<56 digits>/s` to read backward before one, the shape AWS's tokens have.
 * The digits carry the event's timestamp, its ingestion sequence and the stream, so a token is
 * only good for the stream it came from. Event ids (FilterLogEvents) use the same 56 digits.
 */
import { invalidNextToken } from "./errors.js";

/** An event's place in its stream's order: timestamp, then ingestion sequence. */
export interface EventPosition {
  timestamp: number;
  seq: number;
}

/** Before every event: reading forward from here starts at the first one. */
export const HEAD: EventPosition = { timestamp: 0, seq: 0 };

export type Direction = "f" | "b";

function digits(streamId: number, position: EventPosition): string {
  return (
    String(position.timestamp).padStart(20, "0") +
    String(position.seq).padStart(20, "0") +
    String(streamId).padStart(16, "0")
  );
}

export function encodeEventToken(
  direction: Direction,
  streamId: number,
  position: EventPosition,
): string {
  return `${direction}/${digits(streamId, position)}/s`;
}

/** The token's direction and position; InvalidParameterException if it is not one of ours. */
export function decodeEventToken(
  token: string,
  streamId: number,
): { direction: Direction; position: EventPosition } {
  const match = /^([fb])\/(\d{20})(\d{20})(\d{16})(\/s)?$/.exec(token);
  if (match === null || Number(match[4]) !== streamId) throw invalidNextToken();
  const timestamp = Number(match[2]);
  const seq = Number(match[3]);
  if (!Number.isSafeInteger(timestamp) || !Number.isSafeInteger(seq)) throw invalidNextToken();
  return { direction: match[1] as Direction, position: { timestamp, seq } };
}

/** FilterLogEvents' eventId: unique per event, 56 digits like AWS's. */
export function eventId(streamId: number, position: EventPosition): string {
  return digits(streamId, position);
}

/** What PutLogEvents answers as nextSequenceToken (AWS ignores sequence tokens now). */
export function sequenceToken(seq: number): string {
  return String(seq).padStart(56, "0");
}
