/** Cost Explorer time periods: parsing DateInterval and cutting it by granularity (UTC). */
import type { DateInterval, Granularity } from "@aws-sdk/client-cost-explorer";
import { validation } from "./errors.js";

export interface Period {
  start: number;
  end: number;
  /** The TimePeriod as the response writes it. */
  interval: DateInterval;
}

function parseDay(text: string, what: string): number {
  const match = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}):(\d{2})Z)?$/.exec(text);
  if (match === null)
    throw validation(
      `${what} date ${text} is not in the format yyyy-MM-dd or yyyy-MM-ddTHH:mm:ssZ`,
    );
  const [y, mo, d, h = "0", mi = "0", s = "0"] = match.slice(1);
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  const back = new Date(ms);
  if (back.getUTCMonth() !== Number(mo) - 1 || back.getUTCDate() !== Number(d))
    throw validation(`${what} date ${text} is not a valid date`);
  return ms;
}

export function parseInterval(interval: DateInterval | undefined): { start: number; end: number } {
  const start = parseDay(interval?.Start ?? "", "Start");
  const end = parseDay(interval?.End ?? "", "End");
  if (start >= end) throw validation("Start date (and hour) should be before end date (and hour)");
  return { start, end };
}

function day(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

function hour(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19) + "Z";
}

function next(ms: number, granularity: Granularity): number {
  const d = new Date(ms);
  if (granularity === "HOURLY")
    return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), d.getUTCHours() + 1);
  if (granularity === "DAILY")
    return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

/** At most this many periods in one answer: a year of hours, or a long history of days. */
const MAX_PERIODS = 10_000;

/** [start, end) cut at UTC hour, day or month boundaries; the first and last may be partial. */
export function periods(start: number, end: number, granularity: Granularity): Period[] {
  const out: Period[] = [];
  const format = granularity === "HOURLY" ? hour : day;
  for (let s = start; s < end;) {
    const e = Math.min(next(s, granularity), end);
    out.push({ start: s, end: e, interval: { Start: format(s), End: format(e) } });
    s = e;
    if (out.length > MAX_PERIODS)
      throw validation(
        `The time period has more than ${MAX_PERIODS} ${granularity.toLowerCase()} periods; ask for a coarser granularity or a shorter period`,
      );
  }
  return out;
}
