/**
 * One pass of a loop at a time: a kick during a pass makes exactly one more pass follow it, so
 * no kick is lost and no two passes overlap. A failed pass is logged and the next kick tries
 * again; a pass ended by a lost lease (code LeaseLost) is only a warning: its writes were
 * refused, as they must be, and the new leader goes on. Kicks run passes between `start()`
 * (which, given an interval, kicks on a timer too) and `stop()`, which waits for the pass under
 * way and lets none follow it: a loop not started does nothing. Every level-triggered loop runs
 * on it: the service reconciler, the schedule runner, the Kubernetes controllers, the load
 * balancer's sync, the assignment relay and the cluster networks.
 */
import { hasCode } from "./errors.js";
import type { Logger } from "./log.js";

export interface SerialPassMessages {
  /** Logged with the failure's stack when a pass fails. */
  failed: string;
  /** Logged as a warning instead when the pass ended because the lease was lost. */
  deposed?: string;
  /** "warn" where a failed pass is routine (the timer tries again soon); default "error". */
  level?: "warn" | "error";
}

export class SerialPass {
  #running: Promise<void> | undefined;
  #again = false;
  #open = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly pass: () => Promise<void>,
    private readonly log: Logger,
    private readonly messages: SerialPassMessages,
  ) {}

  /** Takes kicks and, with `intervalMs`, kicks that often (the timer never keeps a process up). */
  start(intervalMs?: number): void {
    this.#open = true;
    clearInterval(this.#timer);
    if (intervalMs === undefined) return;
    this.#timer = setInterval(() => void this.kick(), intervalMs);
    this.#timer.unref();
  }

  /**
   * Runs a pass now, or one right after the pass under way; resolves once no pass is due (a
   * failed pass resolves too: it was logged).
   */
  kick(): Promise<void> {
    if (!this.#open) return Promise.resolve();
    if (this.#running !== undefined) {
      this.#again = true;
      return this.#running;
    }
    this.#running = this.#passes();
    return this.#running;
  }

  /** Takes no more kicks and waits for the pass under way; none follows it. */
  async stop(): Promise<void> {
    this.#open = false;
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  async #passes(): Promise<void> {
    do {
      this.#again = false;
      // Started from a then: `#running` is set before this run can clear it, even when a pass
      // throws before its first await.
      await Promise.resolve()
        .then(() => this.pass())
        .catch((error: unknown) => this.#report(error));
    } while (this.#again && this.#open);
    // Cleared in the same step as the last look at `#again`: a kick from here on starts a run.
    this.#running = undefined;
  }

  #report(error: unknown): void {
    const { deposed, failed, level = "error" } = this.messages;
    if (deposed !== undefined && hasCode(error, "LeaseLost")) this.log.warn(deposed);
    else
      this.log[level](failed, {
        error: error instanceof Error ? (error.stack ?? error.message) : String(error),
      });
  }
}
