/** Waiting in tests: polling until a condition holds, bounded (a wait, not a timing assertion). */
import assert from "node:assert/strict";

export interface UntilOptions {
  timeoutMs?: number;
  everyMs?: number;
  /** More to say when the wait times out (a process's recent warnings, say). */
  context?: () => string;
}

/** Polls `probe` until `check` holds for its value, and returns that value. */
export async function until<T>(
  what: string,
  probe: () => Promise<T>,
  check: (value: T) => boolean,
  options: UntilOptions = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 120_000);
  for (;;) {
    const value = await probe();
    if (check(value)) return value;
    if (Date.now() > deadline) {
      const context = options.context?.() ?? "";
      assert.fail(
        `timed out waiting for ${what}: ${String(JSON.stringify(value)).slice(0, 800)}` +
          (context === "" ? "" : `\n${context}`),
      );
    }
    await new Promise((resolve) => setTimeout(resolve, options.everyMs ?? 250));
  }
}

/** The last warnings and errors in a Berth's log output. */
export function recentWarnings(output: string): string {
  return output
    .split("\n")
    .filter((line) => / (WARN|ERROR) /.test(line))
    .slice(-20)
    .join("\n");
}

/**
 * The share of a core a busy task used, over windows of 2 s, until one is over `over` (at
 * most five). A CPU quota caps the share but guarantees none: on a loaded machine one window
 * may fall short. `usageNanos` reads the task's CPU time in nanoseconds.
 */
export async function cpuShareWindows(
  usageNanos: () => number | Promise<number>,
  over: number,
): Promise<number[]> {
  const shares: number[] = [];
  while (shares.length < 5 && !shares.some((share) => share > over)) {
    const before = await usageNanos();
    const start = process.hrtime.bigint();
    await new Promise((resolve) => setTimeout(resolve, 2000));
    shares.push(((await usageNanos()) - before) / Number(process.hrtime.bigint() - start));
  }
  return shares;
}
