/**
 * Schedule expressions — `cron(...)`, `rate(value unit)`, `at(yyyy-mm-ddThh:mm:ss)` — and the
 * schedule's next fire time: in its time zone, after its StartDate and not past its EndDate.
 * Pure; the API checks expressions with it and the runner asks it when to fire next.
 */
import { nextCronTime, parseCron, type CronSchedule } from "./cron.js";
import { instantOf, type WallTime } from "./zoned-time.js";
import type { Tuple } from "../../core/index.js";

export type ScheduleExpression =
  | { kind: "cron"; cron: CronSchedule }
  | { kind: "rate"; periodMs: number }
  | { kind: "at"; wall: WallTime; second: number };

const UNIT_MS: Record<string, number> = {
  minute: 60_000,
  minutes: 60_000,
  hour: 3_600_000,
  hours: 3_600_000,
  day: 86_400_000,
  days: 86_400_000,
};

/** The expression, or undefined when AWS answers "Invalid Schedule Expression". */
export function parseScheduleExpression(text: string): ScheduleExpression | undefined {
  const cron = /^cron\((.*)\)$/.exec(text);
  if (cron !== null) {
    const parsed = parseCron(cron[1] ?? "");
    return parsed === undefined ? undefined : { kind: "cron", cron: parsed };
  }
  const rate = /^rate\((\d+) ([a-z]+)\)$/.exec(text);
  if (rate !== null) {
    const value = Number(rate[1]);
    const unit = UNIT_MS[rate[2] ?? ""];
    // A day is 24 hours of elapsed time, whatever DST does to the wall clock (as AWS counts).
    return unit === undefined || value < 1 ? undefined : { kind: "rate", periodMs: value * unit };
  }
  const at = /^at\((\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\)$/.exec(text);
  if (at !== null) {
    const [year, month, day, hour, minute, second] = at.slice(1).map(Number) as Tuple<number, 6>;
    const valid =
      month >= 1 &&
      month <= 12 &&
      day >= 1 &&
      day <= new Date(Date.UTC(year, month, 0)).getUTCDate() &&
      hour <= 23 &&
      minute <= 59 &&
      second <= 59;
    return valid ? { kind: "at", wall: { year, month, day, hour, minute }, second } : undefined;
  }
  return undefined;
}

export interface ScheduleWindow {
  /** IANA zone the expression is read in (ScheduleExpressionTimezone, default UTC). */
  zone: string;
  /** A rate counts from here: the StartDate, else when the schedule was created. */
  anchor: number;
  startDate?: number;
  endDate?: number;
}

/**
 * The first fire time (ms) strictly after `after`, or undefined when there is none: a one-time
 * schedule after its time, a recurring one past its EndDate. StartDate and EndDate bound
 * recurring schedules only; AWS ignores them for `at()`.
 */
export function nextFireTime(
  expression: ScheduleExpression,
  window: ScheduleWindow,
  after: number,
): number | undefined {
  if (expression.kind === "at") {
    const instant = instantOf(expression.wall, window.zone);
    const at = instant === undefined ? undefined : instant + expression.second * 1000;
    return at !== undefined && at > after ? at : undefined;
  }
  // The first fire may be the StartDate itself.
  const from = window.startDate === undefined ? after : Math.max(after, window.startDate - 1);
  let next: number | undefined;
  if (expression.kind === "rate") {
    const { periodMs } = expression;
    // With no StartDate AWS starts invoking at once: the anchor itself is the first fire.
    next =
      from < window.anchor
        ? window.anchor
        : window.anchor + (Math.floor((from - window.anchor) / periodMs) + 1) * periodMs;
  } else next = nextCronTime(expression.cron, window.zone, from);
  return next !== undefined && (window.endDate === undefined || next <= window.endDate)
    ? next
    : undefined;
}
