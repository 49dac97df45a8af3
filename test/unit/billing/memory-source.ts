/**
 * A TaskUsageSource over a list held in memory, for the meter's unit tests. It passes the same
 * contract suite as the store-backed source.
 */
import type { TaskUsage, TaskUsageSource } from "../../../src/billing/index.js";

export class InMemoryTaskUsageSource implements TaskUsageSource {
  readonly #tasks = new Map<string, TaskUsage>();

  constructor(tasks: Iterable<TaskUsage> = []) {
    for (const task of tasks) this.put(task);
  }

  /** Adds a task or replaces it (a transition: pulled, stopped). */
  put(task: TaskUsage): void {
    this.#tasks.set(task.taskArn, structuredClone(task));
  }

  async tasksPulledBefore(before: Date, stoppedAtOrAfter: Date): Promise<TaskUsage[]> {
    return [...this.#tasks.values()]
      .filter(
        (t) =>
          t.pullStartedAt !== undefined &&
          t.pullStartedAt.getTime() < before.getTime() &&
          (t.stoppedAt === undefined || t.stoppedAt.getTime() >= stoppedAtOrAfter.getTime()),
      )
      .map((t) => structuredClone(t));
  }
}
