/**
 * Scheduled actions' schedules, as Application Auto Scaling writes them: `at(yyyy-mm-ddThh:mm:ss)`
 * (once), `rate(N minutes|hours|days)` (every N from the start), and
 * `cron(Minutes Hours Day-of-month Month Day-of-week Year)` — each read in the action's
 * `Timezone` (an IANA name, UTC by default). Pure: the autoscaler asks which firing falls in the
 * time since it last looked.
 */
import type { Tuple } from "../../core/index.js";

export type Schedule =
  | { kind: "at"; local: LocalTime }
  | { kind: "rate"; everyMs: number }
  | { kind: "cron"; fields: CronFields };

interface LocalTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

interface CronFields {
  minutes: Set<number>;
  hours: Set<number>;
  daysOfMonth: Set<number> | "any";
  months: Set<number>;
  /** 1 = Sunday ... 7 = Saturday, as AWS cron counts. */
  daysOfWeek: Set<number> | "any";
  years: Set<number> | "any";
}

/** A schedule Application Auto Scaling would refuse; the message says why. */
export class ScheduleError extends Error {}

const RATE_UNITS: Record<string, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };
const MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const WEEKDAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

export function parseSchedule(expression: string): Schedule {
  const at = /^at\((\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\)$/.exec(expression);
  if (at !== null) {
    const [year, month, day, hour, minute, second] = at.slice(1).map(Number) as Tuple<number, 6>;
    if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59)
      throw new ScheduleError(`Invalid at expression: ${expression}`);
    return { kind: "at", local: { year, month, day, hour, minute, second } };
  }
  const rate = /^rate\((\d+) (minute|hour|day)s?\)$/.exec(expression);
  if (rate !== null) {
    const value = Number(rate[1]);
    if (value < 1) throw new ScheduleError(`Invalid rate expression: ${expression}`);
    return { kind: "rate", everyMs: value * (RATE_UNITS[rate[2] ?? ""] ?? 0) };
  }
  const cron = /^cron\((.*)\)$/.exec(expression);
  if (cron !== null) return { kind: "cron", fields: parseCron(cron[1] ?? "", expression) };
  throw new ScheduleError(`Unsupported schedule expression: ${expression}`);
}

function parseCron(body: string, expression: string): CronFields {
  const parts = body.trim().split(/\s+/);
  if (parts.length !== 6)
    throw new ScheduleError(`Cron expression must have 6 fields: ${expression}`);
  const [min, hour, dom, month, dow, year] = parts as Tuple<string, 6>;
  const field = (text: string, lo: number, hi: number, names?: string[], base = 0): Set<number> =>
    parseField(text, lo, hi, expression, names, base);
  const daysOfMonth = dom === "?" ? "any" : field(dom, 1, 31);
  const daysOfWeek = dow === "?" ? "any" : field(dow, 1, 7, WEEKDAYS, 1);
  // AWS cron: one of day-of-month and day-of-week must be `?`.
  if ((daysOfMonth === "any") === (daysOfWeek === "any"))
    throw new ScheduleError(
      `One of day-of-month and day-of-week must be '?' in cron expression: ${expression}`,
    );
  return {
    minutes: field(min, 0, 59),
    hours: field(hour, 0, 23),
    daysOfMonth,
    months: field(month, 1, 12, MONTHS, 1),
    daysOfWeek,
    years: year === "*" ? "any" : field(year, 1970, 2199),
  };
}

function parseField(
  text: string,
  lo: number,
  hi: number,
  expression: string,
  names: string[] | undefined,
  base: number,
): Set<number> {
  const value = (token: string): number => {
    const named = names?.indexOf(token.toUpperCase()) ?? -1;
    const n = named >= 0 ? named + base : /^\d+$/.test(token) ? Number(token) : NaN;
    if (!(n >= lo && n <= hi))
      throw new ScheduleError(`Invalid value '${token}' in cron expression: ${expression}`);
    return n;
  };
  const out = new Set<number>();
  for (const item of text.split(",")) {
    const [range = "", stepText] = item.split("/");
    const step = stepText === undefined ? 1 : value(stepText === "0" ? "x" : stepText);
    let first = lo;
    let last = hi;
    if (range !== "*") {
      const [a = "", b] = range.split("-");
      first = value(a);
      last = b === undefined ? (stepText === undefined ? first : hi) : value(b);
    }
    for (let n = first; n <= last; n += step) out.add(n);
  }
  return out;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Throws a ScheduleError for a time zone the runtime does not know. */
export function checkTimezone(timezone: string): void {
  try {
    formatter(timezone);
  } catch {
    throw new ScheduleError(`Invalid timezone: ${timezone}`);
  }
}

function formatter(timezone: string): Intl.DateTimeFormat {
  let f = formatters.get(timezone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: timezone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
      weekday: "short",
    });
    formatters.set(timezone, f);
  }
  return f;
}

/** The wall clock of `timezone` at `ms`, with the weekday (1 = Sunday). */
function wallClock(ms: number, timezone: string): LocalTime & { weekday: number } {
  const parts: Record<string, string> = {};
  for (const part of formatter(timezone).formatToParts(new Date(ms))) parts[part.type] = part.value;
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    hour: Number(parts.hour),
    minute: Number(parts.minute),
    second: Number(parts.second),
    weekday: WEEKDAYS.indexOf((parts.weekday ?? "").toUpperCase()) + 1,
  };
}

/** The instant a wall-clock time of `timezone` names (twice corrected for DST). */
function instantOf(local: LocalTime, timezone: string): number {
  const asUtc = Date.UTC(
    local.year,
    local.month - 1,
    local.day,
    local.hour,
    local.minute,
    local.second,
  );
  let guess = asUtc;
  for (let i = 0; i < 2; i++) {
    const seen = wallClock(guess, timezone);
    const seenAsUtc = Date.UTC(
      seen.year,
      seen.month - 1,
      seen.day,
      seen.hour,
      seen.minute,
      seen.second,
    );
    guess += asUtc - seenAsUtc;
  }
  return guess;
}

function cronMatches(fields: CronFields, local: LocalTime & { weekday: number }): boolean {
  return (
    fields.minutes.has(local.minute) &&
    fields.hours.has(local.hour) &&
    fields.months.has(local.month) &&
    (fields.daysOfMonth === "any" || fields.daysOfMonth.has(local.day)) &&
    (fields.daysOfWeek === "any" || fields.daysOfWeek.has(local.weekday)) &&
    (fields.years === "any" || fields.years.has(local.year))
  );
}

const MINUTE = 60_000;
/** A cron schedule looks back at most a day: an autoscaler down for longer runs the latest. */
const CRON_LOOKBACK_MS = 86_400_000;

/**
 * The latest time in `(from, to]` at which the schedule fires, or undefined. `anchor` is where
 * a rate counts from (the action's StartTime, or when it was created).
 */
export function latestFiring(
  schedule: Schedule,
  timezone: string,
  from: number,
  to: number,
  anchor: number,
): number | undefined {
  switch (schedule.kind) {
    case "at": {
      const at = instantOf(schedule.local, timezone);
      return at > from && at <= to ? at : undefined;
    }
    case "rate": {
      if (to <= anchor) return undefined;
      const at = anchor + Math.floor((to - anchor) / schedule.everyMs) * schedule.everyMs;
      return at > from && at > anchor ? at : undefined;
    }
    case "cron": {
      const start = Math.max(from, to - CRON_LOOKBACK_MS);
      for (let at = Math.floor(to / MINUTE) * MINUTE; at > start; at -= MINUTE)
        if (cronMatches(schedule.fields, wallClock(at, timezone))) return at;
      return undefined;
    }
  }
}
