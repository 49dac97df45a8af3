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
