/**
 * Wall-clock time in an IANA time zone, through Intl alone (no tz database of our own): the
 * fields of an instant in a zone, and the instant of a wall time — none in a spring-forward gap,
 * the earlier one in a fall-back overlap.
 */

/** A wall time (month 1-12; seconds are always 0 for schedules, so they are not kept). */
export interface WallTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let format = formatters.get(zone);
  if (format === undefined) {
    format = new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
    });
    formatters.set(zone, format);
  }
  return format;
}

/** Whether `zone` is an IANA time zone this runtime knows (`UTC`, `Europe/Berlin`, ...). */
export function isTimeZone(zone: string): boolean {
  try {
    formatter(zone);
    return true;
  } catch {
    return false;
  }
}

/** The wall time of `instant` (ms) in `zone`. */
export function wallTimeOf(instant: number, zone: string): WallTime {
  const parts: Record<string, number> = {};
  for (const part of formatter(zone).formatToParts(new Date(instant)))
    if (part.type !== "literal") parts[part.type] = Number(part.value);
  return {
    year: parts.year ?? 1970,
    month: parts.month ?? 1,
    day: parts.day ?? 1,
    hour: parts.hour ?? 0,
    minute: parts.minute ?? 0,
  };
}

const asUtc = (wall: WallTime): number =>
  Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute);

const sameWall = (a: WallTime, b: WallTime): boolean =>
  a.year === b.year &&
  a.month === b.month &&
  a.day === b.day &&
  a.hour === b.hour &&
  a.minute === b.minute;

/**
 * The instant (ms) `wall` names in `zone`: undefined when the clocks skip it (spring forward),
 * the first of two when they pass it twice (fall back) — what EventBridge Scheduler runs.
 */
export function instantOf(wall: WallTime, zone: string): number | undefined {
  const guess = asUtc(wall);
  // The zone's offsets a day either side cover every transition that can touch this wall time.
  const offsets = new Set(
    [guess - 86_400_000, guess, guess + 86_400_000].map(
      (at) => asUtc(wallTimeOf(at, zone)) - Math.floor(at / 60_000) * 60_000,
    ),
  );
  const candidates = [...offsets]
    .map((offset) => guess - offset)
    .filter((instant) => sameWall(wallTimeOf(instant, zone), wall))
    .sort((a, b) => a - b);
  return candidates[0];
}

/** Days in `month` (1-12) of `year`. */
export function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** 1 = Sunday ... 7 = Saturday, as AWS's cron numbers the days of the week. */
export function dayOfWeek(year: number, month: number, day: number): number {
  return new Date(Date.UTC(year, month - 1, day)).getUTCDay() + 1;
}
