/**
 * Spot interruptions: Spot capacity can be taken back. An interrupted task gets the warning
 * (two minutes on Fargate; shorter for tests), then is stopped like any other (task-commands.ts: its
 * targets drained, then SIGTERM, the container's stopTimeout, SIGKILL) and ends STOPPED with stopCode SpotInterruption and ECS's
 * text; its service replaces it. Interruptions come on demand (`berth spot interrupt`) or, when
 * configured, at random at a rate per task-hour.
 */
import type { Clock, Logger } from "../core/index.js";
import type { Store } from "../store/index.js";
import type { Fence } from "./leases.js";
import type { TaskCommands } from "./task-commands.js";
import { readTask } from "./tasks.js";

export const SPOT_STOP_CODE = "SpotInterruption";
export const SPOT_REASON = "Your Spot Task was interrupted.";

export interface SpotOptions {
  store: Store;
  clock: Clock;
  log: Logger;
  /** Between the warning and the stop; 120 s as on Fargate. */
  warningMs: number;
  /** Interruptions per Spot task-hour at random; 0 for none. */
  randomRatePerHour?: number;
  /** Stops tasks the one way every stop goes (drained first behind a load balancer). */
  tasks: TaskCommands;
  /** Called once an interrupted task's stop has been requested (services replace it). */
  onInterrupted?: () => void;
  /**
   * Fences the random interruptions, which run on the leader only: a deposed leader's stop
   * changes nothing. On-demand interruptions (`berth spot interrupt`) are requests, not a role,
   * and are served by whichever server receives them.
   */
  fence?: Fence;
}

export class SpotInterrupter {
  readonly #pending = new Map<string, NodeJS.Timeout>();
  #random: NodeJS.Timeout | undefined;

  constructor(private readonly options: SpotOptions) {}

  start(): void {
    const rate = this.options.randomRatePerHour ?? 0;
    if (rate <= 0) return;
    const tickMs = 10_000;
    this.#random = setInterval(() => {
      const probability = (rate * tickMs) / 3_600_000;
      this.#spotTasks()
        .then((tasks) =>
          this.#interrupt(
            tasks.filter(() => Math.random() < probability).map((t) => t.arn),
            this.options.fence,
          ),
        )
        .catch((error: unknown) =>
          this.options.log.error("random spot interruption failed", { error: String(error) }),
        );
    }, tickMs);
  }

  close(): void {
    clearInterval(this.#random);
    for (const timer of this.#pending.values()) clearTimeout(timer);
    this.#pending.clear();
  }

  /** Interrupts the Spot tasks on `hostId` (all hosts when absent), or a `fraction` of them. */
  async interrupt(selection: { hostId?: string; fraction?: number }): Promise<string[]> {
    let tasks = await this.#spotTasks();
    if (selection.hostId !== undefined) tasks = tasks.filter((t) => t.host_id === selection.hostId);
    if (selection.fraction !== undefined) {
      const wanted = Math.ceil(tasks.length * Math.min(1, Math.max(0, selection.fraction)));
      tasks = [...tasks].sort(() => Math.random() - 0.5).slice(0, wanted);
    }
    return this.#interrupt(tasks.map((t) => t.arn));
  }

  async #spotTasks(): Promise<Array<{ arn: string; host_id: string | null }>> {
    const rows = await this.options.store
      .selectFrom("tasks")
      .selectAll()
      .where("last_status", "=", "RUNNING")
      .where("desired_status", "=", "RUNNING")
      .execute();
    return rows.filter(
      (row) => readTask(row).capacityProviderName === "FARGATE_SPOT" && !this.#pending.has(row.arn),
    );
  }

  #interrupt(taskArns: string[], fence?: Fence): string[] {
    for (const taskArn of taskArns) {
      this.options.log.info("spot interruption warning", {
        taskArn,
        warningMs: this.options.warningMs,
      });
      const timer = setTimeout(() => {
        this.#pending.delete(taskArn);
        this.#stop(taskArn, fence).catch((error: unknown) =>
          this.options.log.error("spot interruption failed", { taskArn, error: String(error) }),
        );
      }, this.options.warningMs);
      this.#pending.set(taskArn, timer);
    }
    return taskArns;
  }

  async #stop(taskArn: string, fence: Fence | undefined): Promise<void> {
    await this.options.tasks.stopTask({
      taskArn,
      stopCode: SPOT_STOP_CODE,
      stoppedReason: SPOT_REASON,
      now: this.options.clock.now(),
      ...(fence === undefined ? {} : { fence }),
    });
    this.options.onInterrupted?.();
  }
}
