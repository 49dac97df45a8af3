/**
 * Samples every RUNNING task's CPU and memory from its cgroup (the runtime's `sandboxUsage`)
 * and sends them to the control plane as one `usage` message, every interval the server asked
 * for in `welcome`. Samples are cumulative CPU time, so one that is lost loses no CPU: the next
 * covers it. Each running container's own cgroup is read too, for `/metrics`.
 */
import type { Logger } from "../core/index.js";
import type { AgentMessage } from "../protocol/index.js";
import type { ContainerRuntime } from "./runtime/index.js";
import type { TaskRun } from "./tasks/task-run.js";

/** Never sample faster than this, whatever the server asks. */
const MIN_INTERVAL_MS = 250;

export class UsageSampler {
  #timer: NodeJS.Timeout | undefined;
  #busy = false;

  constructor(
    private readonly runtime: ContainerRuntime,
    private readonly tasks: () => TaskRun[],
    private readonly send: (message: Extract<AgentMessage, { type: "usage" }>) => void,
    private readonly log: Logger,
  ) {}

  /** (Re)starts sampling every `intervalMs`; undefined stops it (a server that wants none). */
  every(intervalMs: number | undefined): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    if (intervalMs === undefined) return;
    this.#timer = setInterval(() => void this.sample(), Math.max(MIN_INTERVAL_MS, intervalMs));
  }

  async sample(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      const at = Date.now();
      const samples: Extract<AgentMessage, { type: "usage" }>["tasks"] = [];
      for (const run of this.tasks()) {
        if (run.state.lastStatus !== "RUNNING") continue;
        try {
          const usage = await this.runtime.sandboxUsage(run.record.assignment.taskId);
          samples.push({
            taskArn: run.taskArn,
            cpuNanos: usage.cpuNanos,
            memoryBytes: usage.memoryBytes,
            containers: await this.#containers(run),
          });
        } catch (error) {
          // The task stopped between the check and the read: its cgroup is gone.
          this.log.debug("task usage unreadable", { taskArn: run.taskArn, error: String(error) });
        }
      }
      if (samples.length > 0) this.send({ type: "usage", at, tasks: samples });
    } finally {
      this.#busy = false;
    }
  }

  /** Each running container's own cgroup; one that just exited is left out. */
  async #containers(
    run: TaskRun,
  ): Promise<Array<{ name: string; cpuNanos: number; memoryBytes: number }>> {
    const out: Array<{ name: string; cpuNanos: number; memoryBytes: number }> = [];
    for (const container of run.state.containers) {
      if (container.lastStatus !== "RUNNING" || container.runtimeId === undefined) continue;
      const usage = await this.runtime.containerUsage(container.runtimeId).catch(() => undefined);
      if (usage !== undefined)
        out.push({
          name: container.name,
          cpuNanos: usage.cpuNanos,
          memoryBytes: usage.memoryBytes,
        });
    }
    return out;
  }

  close(): void {
    this.every(undefined);
  }
}
