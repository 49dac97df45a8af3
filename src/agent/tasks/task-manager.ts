/**
 * Every task on this host: started from assignments, stopped on request, persisted one file
 * per task under `<agent data dir>/tasks/`, and reconciled against the server's `sync` (tasks the
 * server no longer wants here are stopped). A STOPPED task is forgotten once the server has
 * acknowledged that state.
 */
import { mkdirSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { open, rename } from "node:fs/promises";
import { join } from "node:path";
import { PRIVATE_DIR, PRIVATE_FILE, type Logger } from "../../core/index.js";
import type { ServerMessage, TaskAssignment, TaskState } from "../../protocol/index.js";
import type { TaskHost } from "./ports.js";
import { TaskRun, type TaskRecord, type TaskRunDeps } from "./task-run.js";

const LOG_ARCHIVE_MS = 24 * 60 * 60 * 1000;

export interface TaskManagerOptions {
  dataDir: string;
  host: TaskHost;
  log: Logger;
  now?: () => number;
  report: (state: TaskState) => void;
  progress: (taskArn: string, container: string, bytesDone: number, bytesTotal: number) => void;
  shipLogs?: TaskRunDeps["shipLogs"];
  openLogStream?: TaskRunDeps["openLogStream"];
  metadata?: TaskRunDeps["metadata"];
  secrets?: TaskRunDeps["secrets"];
  prepared?: TaskRunDeps["prepared"];
}

export class TaskManager {
  readonly #runs = new Map<string, TaskRun>();
  readonly #dir: string;
  readonly #writes = new Map<string, Promise<void>>();

  constructor(private readonly options: TaskManagerOptions) {
    this.#dir = join(options.dataDir, "tasks");
    mkdirSync(this.#dir, { recursive: true, mode: PRIVATE_DIR });
  }

  /** Loads the tasks this host held before a restart and picks each up again. */
  async adoptAll(): Promise<void> {
    this.#pruneLogArchives();
    const records: TaskRecord[] = [];
    // Tasks that may still use their address: every record but those known to have STOPPED.
    const held = new Set<string>();
    for (const file of readdirSync(this.#dir).filter((f) => f.endsWith(".json"))) {
      held.add(file.slice(0, -".json".length));
      try {
        records.push(JSON.parse(readFileSync(join(this.#dir, file), "utf8")) as TaskRecord);
      } catch (error) {
        this.options.log.error("unreadable task record", { file, error: String(error) });
      }
    }
    for (const record of records)
      if (record.state.lastStatus === "STOPPED") held.delete(record.assignment.taskId);
    await this.#releaseOrphanAddresses(held);
    for (const record of records) {
      const run = this.#run(record);
      run.adopt().catch((error: unknown) =>
        this.options.log.error("adopting a task failed", {
          taskArn: run.taskArn,
          error: String(error),
        }),
      );
    }
  }

  /**
   * Releases addresses held for tasks this host no longer runs (a teardown whose release failed
   * before the task's record was forgotten), so no address stays taken for ever.
   */
  async #releaseOrphanAddresses(held: Set<string>): Promise<void> {
    const { network } = this.options.host;
    for (const orphan of await network.attached()) {
      if (held.has(orphan.taskId)) continue;
      this.options.log.warn("releasing the address of a task this host no longer runs", {
        taskId: orphan.taskId,
        address: orphan.address.privateIPv4Address,
      });
      await network
        .detach({ taskId: orphan.taskId, clusterArn: orphan.clusterArn, netnsPath: "" })
        .catch((error: unknown) =>
          this.options.log.error("releasing an orphan address failed", { error: String(error) }),
        );
    }
  }

  /** Archived logs are kept a day (ECS shows stopped tasks for at least an hour). */
  #pruneLogArchives(): void {
    const dir = join(this.options.dataDir, "logs");
    mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR });
    const cutoff = Date.now() - LOG_ARCHIVE_MS;
    for (const taskId of readdirSync(dir)) {
      if (statSync(join(dir, taskId)).mtimeMs < cutoff)
        rmSync(join(dir, taskId), { recursive: true, force: true });
    }
  }

  snapshot(): TaskState[] {
    return [...this.#runs.values()].map((run) => structuredClone(run.state));
  }

  get(taskArn: string): TaskRun | undefined {
    return this.#runs.get(taskArn);
  }

  /** The server acknowledged `state`; a STOPPED task is then forgotten. */
  acked(taskArn: string, state: TaskState): void {
    const run = this.#runs.get(taskArn);
    if (run === undefined || state.lastStatus !== "STOPPED" || !run.stopped) return;
    this.#runs.delete(taskArn);
    rmSync(this.#file(run.record.assignment.taskId), { force: true });
    this.#writes.delete(this.#file(run.record.assignment.taskId));
  }

  handle(message: ServerMessage): void {
    switch (message.type) {
      case "assign":
        this.#assign(message.task);
        return;
      case "stop":
        void this.#stop(message.taskArn, message.stopCode, message.stoppedReason);
        return;
      case "sync": {
        const wanted = new Set(message.tasks.map((t) => t.taskArn));
        for (const task of message.tasks) this.#assign(task);
        for (const run of this.#runs.values()) {
          if (!wanted.has(run.taskArn) && !run.stopped)
            void this.#stop(
              run.taskArn,
              "TaskFailedToStart",
              "The task is no longer assigned to this host",
            );
        }
        return;
      }
      default:
        return;
    }
  }

  /** Waits for every task's ongoing work (used by tests and shutdown of short-lived agents). */
  running(): TaskRun[] {
    return [...this.#runs.values()];
  }

  #assign(assignment: TaskAssignment): void {
    const existing = this.#runs.get(assignment.taskArn);
    const run = existing ?? this.#run(TaskRun.fresh(assignment));
    if (assignment.desiredStatus === "STOPPED") {
      void this.#stop(
        assignment.taskArn,
        assignment.stopCode ?? "UserInitiated",
        assignment.stoppedReason ?? "Task stopped by user",
      );
      return;
    }
    if (existing !== undefined) return;
    run
      .start()
      .catch((error: unknown) =>
        this.options.log.error("task start failed", { taskArn: run.taskArn, error: String(error) }),
      );
  }

  async #stop(taskArn: string, stopCode: string, stoppedReason: string): Promise<void> {
    try {
      await this.#runs.get(taskArn)?.requestStop(stopCode, stoppedReason);
    } catch (error) {
      this.options.log.error("task stop failed", { taskArn, error: String(error) });
    }
  }

  #run(record: TaskRecord): TaskRun {
    const run = new TaskRun(record, {
      host: this.options.host,
      log: this.options.log.child({ task: record.assignment.taskId }),
      now: this.options.now ?? Date.now,
      persist: (r, durable) => this.#persist(r, durable),
      report: this.options.report,
      progress: (container, done, total) =>
        this.options.progress(record.assignment.taskArn, container, done, total),
      logArchiveDir: this.logArchiveDir(record.assignment.taskId),
      ...(this.options.shipLogs === undefined ? {} : { shipLogs: this.options.shipLogs }),
      ...(this.options.openLogStream === undefined
        ? {}
        : { openLogStream: this.options.openLogStream }),
      ...(this.options.metadata === undefined ? {} : { metadata: this.options.metadata }),
      ...(this.options.secrets === undefined ? {} : { secrets: this.options.secrets }),
      ...(this.options.prepared === undefined ? {} : { prepared: this.options.prepared }),
    });
    this.#runs.set(record.assignment.taskArn, run);
    return run;
  }

  /** Where a task's container logs are kept after its containers are deleted. */
  logArchiveDir(taskId: string): string {
    return join(this.options.dataDir, "logs", taskId);
  }

  #file(taskId: string): string {
    return join(this.#dir, `${taskId}.json`);
  }

  /** Atomic (temp file, rename), durable when asked (fsync), and one write at a time per task. */
  #persist(record: TaskRecord, durable: boolean): Promise<void> {
    const file = this.#file(record.assignment.taskId);
    const content = JSON.stringify(record);
    const previous = this.#writes.get(file) ?? Promise.resolve();
    const next = previous.then(async () => {
      const temp = `${file}.tmp`;
      // A task's record holds its environment and registry password: root's alone.
      const handle = await open(temp, "w", PRIVATE_FILE);
      try {
        await handle.writeFile(content);
        if (durable) await handle.sync();
      } finally {
        await handle.close();
      }
      // Off the event loop: ext4 writes a file renamed over another out at the rename (auto_da_alloc).
      await rename(temp, file);
    });
    this.#writes.set(
      file,
      next.catch(() => undefined),
    );
    return next;
  }
}
