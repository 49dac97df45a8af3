/**
 * The schedule clock: what fire times are compared with. The server's clock, except where a
 * test (or a demo) sets `BERTH_SCHEDULE_CLOCK=<ISO time>[,<scale>]`: schedule time then starts
 * at that instant when Berth starts and runs `scale` times as fast as real time, so a
 * `rate(1 minute)` fires every 3 s at scale 20, and a restart can begin later than the last
 * run ended ("Berth was down for hours"). It moves only schedules: request signing, leases and
 * task timestamps keep the real clock.
 */
import { performance } from "node:perf_hooks";
import { BerthError, type Clock } from "../../core/index.js";

export function scheduleClockFrom(setting: string | undefined): Clock | undefined {
  if (setting === undefined || setting === "") return undefined;
  const [startText = "", scaleText = "1"] = setting.split(",");
  const start = Date.parse(startText);
  const scale = Number(scaleText);
  if (Number.isNaN(start) || !Number.isFinite(scale) || scale <= 0)
    throw new BerthError(
      "InvalidScheduleClock",
      `BERTH_SCHEDULE_CLOCK must be "<ISO time>[,<scale>]", e.g. 2026-01-01T00:00:00Z,20; got ${setting}`,
    );
  const origin = performance.now();
  return { now: () => new Date(start + (performance.now() - origin) * scale) };
}
