/**
 * AWS's six-field cron (`minutes hours day-of-month month day-of-week year`) as EventBridge
 * Scheduler reads it: `, - * /` everywhere, `?` in exactly one of the two day fields, `L` and
 * `W` (and `LW`) in day-of-month, `L`, `nL` and `n#k` in day-of-week (1 = SUN ... 7 = SAT), month
 * and day names, years 1970-2199. Pure: parsing, and the next wall time in a time zone.
 *
 * Written here rather than taken from npm: the AWS-syntax parsers there (aws-cron-parser) count
 * in UTC only, and a schedule's time zone with its DST rules is the point of this module.
 */
import { dayOfWeek, daysInMonth, instantOf, wallTimeOf, type WallTime } from "./zoned-time.js";

type DayRule =
  | { kind: "days-of-month"; days: ReadonlySet<number> }
  | { kind: "last-day" }
  | { kind: "last-weekday" }
  | { kind: "nearest-weekday"; day: number }
  | { kind: "days-of-week"; days: ReadonlySet<number> }
  | { kind: "last-day-of-week"; day: number }
  | { kind: "nth-day-of-week"; day: number; nth: number };

export interface CronSchedule {
  minutes: ReadonlySet<number>;
  hours: ReadonlySet<number>;
  months: ReadonlySet<number>;
  years: ReadonlySet<number>;
  days: DayRule;
}

const MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const WEEKDAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
export const FIRST_YEAR = 1970;
export const LAST_YEAR = 2199;

interface FieldSpec {
  min: number;
  max: number;
  names?: readonly string[];
}

const MINUTE: FieldSpec = { min: 0, max: 59 };
const HOUR: FieldSpec = { min: 0, max: 23 };
const DAY: FieldSpec = { min: 1, max: 31 };
const MONTH: FieldSpec = { min: 1, max: 12, names: MONTHS };
const WEEKDAY: FieldSpec = { min: 1, max: 7, names: WEEKDAYS };
const YEAR: FieldSpec = { min: FIRST_YEAR, max: LAST_YEAR };

function value(text: string, spec: FieldSpec): number | undefined {
  const named = spec.names?.indexOf(text.toUpperCase()) ?? -1;
  const number = named >= 0 ? named + 1 : /^\d+$/.test(text) ? Number(text) : NaN;
  return Number.isInteger(number) && number >= spec.min && number <= spec.max ? number : undefined;
}

/** One field's list (`1,5-10,20/5,*`) -> the set of values it names; undefined if malformed. */
function parseList(text: string, spec: FieldSpec): Set<number> | undefined {
  const values = new Set<number>();
  for (const item of text.split(",")) {
    const [range = "", stepText, extra] = item.split("/");
    if (extra !== undefined) return undefined;
    const step = stepText === undefined ? 1 : /^\d+$/.test(stepText) ? Number(stepText) : 0;
    if (step < 1) return undefined;
    let from: number | undefined;
    let to: number | undefined;
    if (range === "*") [from, to] = [spec.min, spec.max];
    else {
      const [a = "", b, more] = range.split("-");
      if (more !== undefined) return undefined;
      from = value(a, spec);
      // `a/s` runs from a to the field's end; `a` alone is just a.
      to = b !== undefined ? value(b, spec) : stepText !== undefined ? spec.max : from;
    }
    if (from === undefined || to === undefined) return undefined;
    // A range may wrap (FRI-MON, 22-2): on to the end, then from the start.
    const span = to >= from ? to - from : spec.max - from + 1 + (to - spec.min);
    for (let offset = 0; offset <= span; offset += step)
      values.add(((from - spec.min + offset) % (spec.max - spec.min + 1)) + spec.min);
  }
  return values;
}

function parseDayOfMonth(text: string): DayRule | undefined {
  if (text === "L") return { kind: "last-day" };
  if (text === "LW") return { kind: "last-weekday" };
  const weekday = /^(\d+)W$/.exec(text);
  if (weekday !== null) {
    const day = value(weekday[1] ?? "", DAY);
    return day === undefined ? undefined : { kind: "nearest-weekday", day };
  }
  const days = parseList(text, DAY);
  return days === undefined ? undefined : { kind: "days-of-month", days };
}

function parseDayOfWeek(text: string): DayRule | undefined {
  if (text === "L") return { kind: "last-day-of-week", day: 7 };
  const last = /^(\w+)L$/.exec(text);
  if (last !== null) {
    const day = value(last[1] ?? "", WEEKDAY);
    return day === undefined ? undefined : { kind: "last-day-of-week", day };
  }
  const nth = /^(\w+)#(\d)$/.exec(text);
  if (nth !== null) {
    const day = value(nth[1] ?? "", WEEKDAY);
    const n = Number(nth[2]);
    return day === undefined || n < 1 || n > 5
      ? undefined
      : { kind: "nth-day-of-week", day, nth: n };
  }
  const days = parseList(text, WEEKDAY);
  return days === undefined ? undefined : { kind: "days-of-week", days };
}

/** The fields inside `cron(...)`; undefined when AWS would refuse them. */
export function parseCron(fields: string): CronSchedule | undefined {
  const parts = fields.trim().split(/\s+/);
  if (parts.length !== 6) return undefined;
  const [minute = "", hour = "", dayOfMonth = "", month = "", weekday = "", year = ""] = parts;
  // Exactly one of the day fields is `?`: AWS cannot combine a day of the month with a weekday.
  if ((dayOfMonth === "?") === (weekday === "?")) return undefined;
  if ([minute, hour, month, year].includes("?")) return undefined;
  const days = dayOfMonth === "?" ? parseDayOfWeek(weekday) : parseDayOfMonth(dayOfMonth);
  const schedule = {
    minutes: parseList(minute, MINUTE),
    hours: parseList(hour, HOUR),
    months: parseList(month, MONTH),
    years: parseList(year, YEAR),
    days,
  };
  const { minutes, hours, months, years } = schedule;
  if (
    minutes === undefined ||
    hours === undefined ||
    months === undefined ||
    years === undefined ||
    days === undefined
  )
    return undefined;
  return { minutes, hours, months, years, days };
}

function nearestWeekday(year: number, month: number, day: number): number | undefined {
  const last = daysInMonth(year, month);
  if (day > last) return undefined;
  const weekday = dayOfWeek(year, month, day);
  if (weekday === 7) return day === 1 ? 3 : day - 1; // Saturday: Friday, or Monday the 3rd
  if (weekday === 1) return day === last ? day - 2 : day + 1; // Sunday: Monday, or Friday
  return day;
}

/** Whether the cron's day rule names `day` of `month`/`year`. */
export function matchesDay(rule: DayRule, year: number, month: number, day: number): boolean {
  const last = daysInMonth(year, month);
  const weekday = dayOfWeek(year, month, day);
  switch (rule.kind) {
    case "days-of-month":
      return rule.days.has(day);
    case "last-day":
      return day === last;
    case "last-weekday":
      return day === nearestWeekday(year, month, last);
    case "nearest-weekday":
      return day === nearestWeekday(year, month, rule.day);
    case "days-of-week":
      return rule.days.has(weekday);
    case "last-day-of-week":
      return weekday === rule.day && day + 7 > last;
    case "nth-day-of-week":
      return weekday === rule.day && Math.ceil(day / 7) === rule.nth;
  }
}

const sorted = (values: ReadonlySet<number>): number[] => [...values].sort((a, b) => a - b);

const compareWall = (a: WallTime, b: WallTime): number =>
  a.year - b.year || a.month - b.month || a.day - b.day || a.hour - b.hour || a.minute - b.minute;

/**
 * The first instant (ms) after `after` whose wall time in `zone` the cron names. A wall time the
 * clocks skip (spring forward) is skipped; one they pass twice (fall back) runs once, the first
 * time — EventBridge Scheduler's DST rule. Undefined when the cron names no later time.
 */
export function nextCronTime(cron: CronSchedule, zone: string, after: number): number | undefined {
  const from = wallTimeOf(after, zone);
  const hours = sorted(cron.hours);
  const minutes = sorted(cron.minutes);
  for (const year of sorted(cron.years)) {
    if (year < from.year) continue;
    for (const month of sorted(cron.months)) {
      if (year === from.year && month < from.month) continue;
      for (let day = 1; day <= daysInMonth(year, month); day++) {
        if (year === from.year && month === from.month && day < from.day) continue;
        if (!matchesDay(cron.days, year, month, day)) continue;
        for (const hour of hours)
          for (const minute of minutes) {
            const wall = { year, month, day, hour, minute };
            if (compareWall(wall, from) < 0) continue;
            const instant = instantOf(wall, zone);
            if (instant !== undefined && instant > after) return instant;
          }
      }
    }
  }
  return undefined;
}
