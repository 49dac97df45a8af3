/**
 * A level-triggered control loop: a pass every interval, and one at once when kicked (a kick
 * during a pass runs one more pass right after it, never two at a time). Controllers put their
 * pass behind it; a failed pass is logged and the next one tries again.
 */
import type { Logger } from "../core/index.js";

export class ControlLoop {
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #stopped = false;

  constructor(
    private readonly name: string,
    private readonly pass: () => Promise<void>,
    private readonly log: Logger,
    private readonly intervalMs = 1000,
  ) {}

  start(): void {
    this.#stopped = false;
    this.#timer = setInterval(() => this.kick(), this.intervalMs);
    this.kick();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#running;
  }

  /** A pass now (or right after the one running). */
  kick(): void {
    if (this.#stopped) return;
    if (this.#running !== undefined) {
      this.#again = true;
      return;
    }
    this.#running = this.pass()
      .catch((error: unknown) =>
        this.log.error(`${this.name} pass failed`, {
          error: error instanceof Error ? (error.stack ?? error.message) : String(error),
        }),
      )
      .finally(() => {
        this.#running = undefined;
        if (this.#again) {
          this.#again = false;
          this.kick();
        }
      });
  }
}
