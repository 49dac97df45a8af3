// Schedule expressions and their next fire times, pure: AWS's cron syntax (? L W # names,
// years), rate() and at(), time zones across both DST transitions, StartDate and EndDate.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  nextFireTime,
  parseScheduleExpression,
  type ScheduleExpression,
} from "../../../../src/services/scheduler/expressions.js";
import { isTimeZone } from "../../../../src/services/scheduler/zoned-time.js";

const ms = (iso: string): number => new Date(iso).getTime();
const iso = (at: number | undefined): string | undefined =>
  at === undefined ? undefined : new Date(at).toISOString();

function parse(text: string): ScheduleExpression {
  const parsed = parseScheduleExpression(text);
  assert.ok(parsed !== undefined, `${text} parses`);
  return parsed;
}

/** The next `count` fire times after `after`, as ISO strings. */
function fires(text: string, after: string, count: number, zone = "UTC", anchor = after): string[] {
  const expression = parse(text);
  const out: string[] = [];
  let at = ms(after);
  for (let i = 0; i < count; i++) {
    const next = nextFireTime(expression, { zone, anchor: ms(anchor) }, at);
    if (next === undefined) break;
    out.push(new Date(next).toISOString());
    at = next;
  }
  return out;
}

describe("schedule expressions", () => {
  it("refuses what AWS refuses", () => {
    for (const bad of [
      "cron(* * * * *)", // five fields: Unix cron
      "cron(0 12 * * * *)", // no ? in either day field
      "cron(0 12 ? * ? *)", // ? in both
      "cron(60 * * * ? *)",
      "cron(0 24 * * ? *)",
      "cron(0 0 32 * ? *)",
      "cron(0 0 ? * 8 *)",
      "cron(0 0 ? * 2#6 *)",
      "cron(0 0 * 13 ? *)",
      "cron(0 0 * * ? 2200)",
      "cron(0/0 * * * ? *)",
      "cron(? 0 * * ? *)",
      "cron(0 0 1-2-3 * ? *)",
      "cron(0 0 * FOO ? *)",
      "rate(0 minutes)",
      "rate(5 weeks)",
      "rate(-1 minutes)",
      "rate(five minutes)",
      "at(2026-02-30T10:00:00)",
      "at(2026-01-01 10:00:00)",
      "at(2026-01-01T24:00:00)",
      "every(5 minutes)",
      "",
    ])
      assert.equal(parseScheduleExpression(bad), undefined, bad);
  });

  it("accepts AWS's forms", () => {
    for (const good of [
      "cron(0 10 * * ? *)",
      "cron(15 12 * * ? *)",
      "cron(0 18 ? * MON-FRI *)",
      "cron(0 8 1 * ? *)",
      "cron(0/10 * ? * MON-FRI *)",
      "cron(0/5 8-17 ? * MON-FRI *)",
      "cron(0 9 ? * 2#1 *)",
      "cron(0 0 L * ? *)",
      "cron(0 0 LW * ? *)",
      "cron(0 0 15W * ? *)",
      "cron(0 0 ? * 6L *)",
      "cron(0-15/1 8-8 ? * 2,3,4,5,6,7 *)",
      "cron(0 12 * JAN,JUL ? 2026-2030)",
      "rate(1 minute)",
      "rate(5 minutes)",
      "rate(1 hour)",
      "rate(2 days)",
      "at(2026-03-08T02:30:00)",
    ])
      assert.notEqual(parseScheduleExpression(good), undefined, good);
  });

  it("cron: steps, ranges, weekday names and years", () => {
    assert.deepEqual(fires("cron(0/20 * * * ? *)", "2026-01-01T10:05:00Z", 3), [
      "2026-01-01T10:20:00.000Z",
      "2026-01-01T10:40:00.000Z",
      "2026-01-01T11:00:00.000Z",
    ]);
    // 2026-01-02 is a Friday: the next weekday 18:00 after Friday evening is Monday the 5th.
    assert.deepEqual(fires("cron(0 18 ? * MON-FRI *)", "2026-01-02T18:00:00Z", 2), [
      "2026-01-05T18:00:00.000Z",
      "2026-01-06T18:00:00.000Z",
    ]);
    assert.deepEqual(fires("cron(0 12 1 JAN ? 2027-2028)", "2026-06-01T00:00:00Z", 3), [
      "2027-01-01T12:00:00.000Z",
      "2028-01-01T12:00:00.000Z",
    ]);
  });

  it("cron: L, W, LW, nL and n#k", () => {
    assert.deepEqual(fires("cron(0 0 L * ? *)", "2026-01-15T00:00:00Z", 3), [
      "2026-01-31T00:00:00.000Z",
      "2026-02-28T00:00:00.000Z",
      "2026-03-31T00:00:00.000Z",
    ]);
    // 2026-01-31 is a Saturday, so the last weekday of January is Friday the 30th; May 31 is a Sunday.
    assert.deepEqual(fires("cron(0 0 LW * ? *)", "2026-01-01T00:00:00Z", 1), [
      "2026-01-30T00:00:00.000Z",
    ]);
    assert.deepEqual(fires("cron(0 0 LW * ? *)", "2026-05-01T00:00:00Z", 1), [
      "2026-05-29T00:00:00.000Z",
    ]);
    // 2026-02-01 is a Sunday: 1W is Monday the 2nd. 2026-08-01 is a Saturday: 1W is Monday the 3rd.
    assert.deepEqual(fires("cron(0 0 1W * ? *)", "2026-01-31T00:00:00Z", 1), [
      "2026-02-02T00:00:00.000Z",
    ]);
    assert.deepEqual(fires("cron(0 0 1W * ? *)", "2026-07-31T00:00:00Z", 1), [
      "2026-08-03T00:00:00.000Z",
    ]);
    // The last Friday (6L) and the second Tuesday (3#2) of January 2026.
    assert.deepEqual(fires("cron(0 0 ? * 6L *)", "2026-01-01T00:00:00Z", 1), [
      "2026-01-30T00:00:00.000Z",
    ]);
    assert.deepEqual(fires("cron(0 0 ? * TUE#2 *)", "2026-01-01T00:00:00Z", 2), [
      "2026-01-13T00:00:00.000Z",
      "2026-02-10T00:00:00.000Z",
    ]);
  });

  it("cron in a time zone follows its DST: a skipped wall time is skipped, a repeated one runs once", () => {
    // New York springs forward on 2026-03-08 at 02:00 (no 02:30 that day) and falls back on
    // 2026-11-01 at 02:00 (01:30 happens twice).
    assert.deepEqual(fires("cron(30 2 * * ? *)", "2026-03-07T00:00:00Z", 2, "America/New_York"), [
      "2026-03-07T07:30:00.000Z", // 02:30 EST
      "2026-03-09T06:30:00.000Z", // 02:30 EDT; the 8th has none
    ]);
    assert.deepEqual(fires("cron(30 1 * * ? *)", "2026-10-31T00:00:00Z", 3, "America/New_York"), [
      "2026-10-31T05:30:00.000Z", // 01:30 EDT
      "2026-11-01T05:30:00.000Z", // the first 01:30 (EDT), not again at 06:30Z (EST)
      "2026-11-02T06:30:00.000Z", // 01:30 EST
    ]);
    // Every 30 minutes across the fall-back hour: each wall time once.
    assert.deepEqual(fires("cron(0/30 * * * ? *)", "2026-11-01T04:45:00Z", 5, "America/New_York"), [
      "2026-11-01T05:00:00.000Z", // 01:00 EDT
      "2026-11-01T05:30:00.000Z", // 01:30 EDT
      "2026-11-01T07:00:00.000Z", // 02:00 EST (01:00 and 01:30 EST are not run again)
      "2026-11-01T07:30:00.000Z",
      "2026-11-01T08:00:00.000Z",
    ]);
    // Noon in Berlin is 11:00Z in winter and 10:00Z in summer (DST from 2026-03-29).
    assert.deepEqual(fires("cron(0 12 * * ? *)", "2026-03-28T00:00:00Z", 2, "Europe/Berlin"), [
      "2026-03-28T11:00:00.000Z",
      "2026-03-29T10:00:00.000Z",
    ]);
  });

  it("rate counts elapsed time from its anchor, starting at once", () => {
    assert.deepEqual(
      fires("rate(5 minutes)", "2026-01-01T00:00:00Z", 3, "UTC", "2026-01-01T00:00:30Z"),
      ["2026-01-01T00:00:30.000Z", "2026-01-01T00:05:30.000Z", "2026-01-01T00:10:30.000Z"],
    );
    // A day is 24 hours even across a DST change: the wall time moves.
    assert.deepEqual(
      fires("rate(1 day)", "2026-03-07T16:59:00Z", 2, "America/New_York", "2026-03-07T17:00:00Z"),
      ["2026-03-07T17:00:00.000Z", "2026-03-08T17:00:00.000Z"],
    );
  });

  it("at() fires once, at its wall time in the zone", () => {
    const expression = parse("at(2026-07-01T09:15:30)");
    const window = { zone: "Asia/Tokyo", anchor: 0 };
    assert.equal(
      iso(nextFireTime(expression, window, ms("2026-06-30T00:00:00Z"))),
      "2026-07-01T00:15:30.000Z",
    );
    assert.equal(nextFireTime(expression, window, ms("2026-07-01T00:15:30Z")), undefined);
    // A one-time wall time the clocks skip never comes.
    const skipped = parse("at(2026-03-08T02:30:00)");
    assert.equal(
      nextFireTime(skipped, { zone: "America/New_York", anchor: 0 }, ms("2026-01-01T00:00:00Z")),
      undefined,
    );
  });

  it("StartDate and EndDate bound a recurring schedule", () => {
    const hourly = parse("cron(0 * * * ? *)");
    const window = {
      zone: "UTC",
      anchor: 0,
      startDate: ms("2026-01-01T05:00:00Z"),
      endDate: ms("2026-01-01T06:30:00Z"),
    };
    assert.equal(
      iso(nextFireTime(hourly, window, ms("2026-01-01T00:00:00Z"))),
      "2026-01-01T05:00:00.000Z",
    );
    assert.equal(
      iso(nextFireTime(hourly, window, ms("2026-01-01T05:00:00Z"))),
      "2026-01-01T06:00:00.000Z",
    );
    assert.equal(nextFireTime(hourly, window, ms("2026-01-01T06:00:00Z")), undefined);
  });

  it("knows IANA zones from Intl", () => {
    assert.ok(isTimeZone("Europe/Berlin"));
    assert.ok(isTimeZone("UTC"));
    assert.ok(!isTimeZone("Mars/Olympus_Mons"));
    assert.ok(!isTimeZone("../../etc/passwd"));
  });
});
