/**
 * A host step (making a task's cgroup and namespace, removing them, recording the task's state)
 * that fails is tried again a bounded number of times with exponential back-off, each failure
 * logged with its cause, and then gives up with the last error. A host that cannot do a step
 * must never spin on it (an agent once retried a cgroup mkdir at ~100% CPU for 15 minutes while
 * its tasks sat in DEPROVISIONING): the caller turns the error into the task's stop reason and
 * the task still reaches STOPPED (issue 13 #17).
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "../../core/index.js";
import { RuntimeErrorCode } from "../runtime/index.js";

/** About 15 s in all, as the ECS agent retries a step before it gives the task up. */
export const HOST_STEP_BACKOFF_MS: readonly number[] = [250, 500, 1000, 2000, 4000, 8000];

/** Errors that another try cannot mend (the caller's input, or a record that says gone). */
const PERMANENT_CODES = new Set<string>([
  RuntimeErrorCode.InvalidSpec,
  RuntimeErrorCode.UserNotFound,
  RuntimeErrorCode.ContainerNotFound,
  RuntimeErrorCode.SandboxNotFound,
  RuntimeErrorCode.CgroupsUnavailable,
  RuntimeErrorCode.StorageUnavailable,
]);

export interface HostStepOptions {
  log: Logger;
  /** The waits between tries; its length is how many times the step is tried again. */
  backoffMs?: readonly number[];
}

export async function hostStep<T>(
  what: string,
  step: () => Promise<T>,
  options: HostStepOptions,
): Promise<T> {
  const delays = options.backoffMs ?? HOST_STEP_BACKOFF_MS;
  for (let attempt = 0; ; attempt++) {
    try {
      return await step();
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      const delay = delays[attempt];
      const permanent = typeof code === "string" && PERMANENT_CODES.has(code);
      if (delay === undefined || permanent) {
        options.log.error(`${what} failed; giving up`, {
          attempts: attempt + 1,
          error: error instanceof Error ? error.message : String(error),
        });
        throw error;
      }
      options.log.warn(`${what} failed; trying again`, {
        attempt: attempt + 1,
        retryInMs: delay,
        error: error instanceof Error ? error.message : String(error),
      });
      await sleep(delay);
    }
  }
}
