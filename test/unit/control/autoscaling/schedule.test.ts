// Scheduled actions' schedules: at(), rate() and cron() in a time zone.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  ScheduleError,
  checkTimezone,
  latestFiring,
  parseSchedule,
} from "../../../../src/control/index.js";

const ms = (iso: string): number => Date.parse(iso);
const fire = (
  expr: string,
  tz: string,
  from: string,
  to: string,
  anchor = "2026-01-01T00:00:00Z",
) => latestFiring(parseSchedule(expr), tz, ms(from), ms(to), ms(anchor));

describe("at()", () => {
  it("fires once at its UTC time", () => {
    assert.equal(
      fire("at(2026-11-26T18:00:00)", "UTC", "2026-11-26T17:59:00Z", "2026-11-26T18:00:00Z"),
      ms("2026-11-26T18:00:00Z"),
    );
    assert.equal(
      fire("at(2026-11-26T18:00:00)", "UTC", "2026-11-26T18:00:00Z", "2026-11-26T18:05:00Z"),
      undefined,
    );
    assert.equal(
      fire("at(2026-11-26T18:00:00)", "UTC", "2026-11-26T17:00:00Z", "2026-11-26T17:59:59Z"),
      undefined,
    );
  });

  it("reads its time in the action's time zone, across DST", () => {
    // Paris is UTC+1 in November, UTC+2 in July.
    assert.equal(
      fire(
        "at(2026-11-26T18:00:00)",
        "Europe/Paris",
        "2026-11-26T16:00:00Z",
        "2026-11-26T18:00:00Z",
      ),
      ms("2026-11-26T17:00:00Z"),
    );
    assert.equal(
      fire(
        "at(2026-07-01T18:00:00)",
        "Europe/Paris",
        "2026-07-01T15:00:00Z",
        "2026-07-01T17:00:00Z",
      ),
      ms("2026-07-01T16:00:00Z"),
    );
  });
});

describe("rate()", () => {
  it("fires every interval from its anchor", () => {
    const anchor = "2026-11-26T10:00:00Z";
    assert.equal(
      fire("rate(5 minutes)", "UTC", "2026-11-26T10:04:00Z", "2026-11-26T10:06:00Z", anchor),
      ms("2026-11-26T10:05:00Z"),
    );
    assert.equal(
      fire("rate(5 minutes)", "UTC", "2026-11-26T10:05:00Z", "2026-11-26T10:09:59Z", anchor),
      undefined,
    );
    assert.equal(
      fire("rate(1 hour)", "UTC", "2026-11-26T10:30:00Z", "2026-11-26T11:00:00Z", anchor),
      ms("2026-11-26T11:00:00Z"),
    );
    assert.equal(
      fire("rate(2 days)", "UTC", "2026-11-26T10:30:00Z", "2026-11-28T10:00:00Z", anchor),
      ms("2026-11-28T10:00:00Z"),
    );
  });

  it("does not fire at its anchor itself", () => {
    const anchor = "2026-11-26T10:00:00Z";
    assert.equal(
      fire("rate(1 minute)", "UTC", "2026-11-26T09:59:00Z", "2026-11-26T10:00:30Z", anchor),
      undefined,
    );
  });
});

describe("cron()", () => {
  it("fires on matching minutes of weekdays in its zone", () => {
    // 2026-11-26 is a Thursday; 22:00 in New York (UTC-5) is 03:00 UTC next day.
    const expr = "cron(0 22 ? * MON-FRI *)";
    assert.equal(
      fire(expr, "America/New_York", "2026-11-27T02:59:00Z", "2026-11-27T03:00:30Z"),
      ms("2026-11-27T03:00:00Z"),
    );
    // Saturday 22:00 does not match.
    assert.equal(
      fire(expr, "America/New_York", "2026-11-29T02:59:00Z", "2026-11-29T03:01:00Z"),
      undefined,
    );
  });

  it("supports lists, ranges, steps, names and years", () => {
    assert.equal(
      fire("cron(*/15 9-17 ? * 2-6 *)", "UTC", "2026-11-26T09:01:00Z", "2026-11-26T09:15:00Z"),
      ms("2026-11-26T09:15:00Z"),
    );
    assert.equal(
      fire("cron(30 6 1,15 JAN,NOV ? 2026)", "UTC", "2026-11-15T06:00:00Z", "2026-11-15T07:00:00Z"),
      ms("2026-11-15T06:30:00Z"),
    );
    assert.equal(
      fire("cron(30 6 1,15 JAN,NOV ? 2027)", "UTC", "2026-11-15T06:00:00Z", "2026-11-15T07:00:00Z"),
      undefined,
    );
  });

  it("refuses what Application Auto Scaling refuses", () => {
    for (const bad of [
      "cron(0 22 * * MON *)", // both day fields set
      "cron(0 22 ? * MON)", // five fields
      "cron(61 22 ? * MON *)",
      "rate(0 minutes)",
      "rate(5 weeks)",
      "at(2026-13-01T00:00:00)",
      "every day",
    ])
      assert.throws(() => parseSchedule(bad), ScheduleError, bad);
    assert.throws(() => checkTimezone("Mars/Olympus"), ScheduleError);
    checkTimezone("Asia/Tokyo");
  });
});
