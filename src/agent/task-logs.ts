/**
 * Serving `logs` requests from the control plane: a task's container logs, as kept by each
 * container's monitor, sent back in batches (at most 500 lines or 50 ms apart) until the logs
 * end — or, when following, until the task's containers have all exited and drained.
 */
import type { Logger } from "../core/index.js";
import type { AgentMessage, LogLine, ServerMessage } from "../protocol/index.js";
import { createReadStream, existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { ContainerRuntime, LogLine as RuntimeLogLine } from "./runtime/index.js";
import type { TaskManager } from "./tasks/task-manager.js";

type LogsRequest = Extract<ServerMessage, { type: "logs" }>;

const BATCH_LINES = 500;
const BATCH_MS = 50;

export class TaskLogServer {
  readonly #active = new Map<string, AbortController>();

  constructor(
    private readonly tasks: TaskManager,
    private readonly runtime: ContainerRuntime,
    private readonly send: (message: Extract<AgentMessage, { type: "logLines" }>) => void,
    private readonly log: Logger,
  ) {}

  cancel(requestId: string): void {
    this.#active.get(requestId)?.abort();
    this.#active.delete(requestId);
  }

  cancelAll(): void {
    for (const controller of this.#active.values()) controller.abort();
    this.#active.clear();
  }

  serve(request: LogsRequest): void {
    const controller = new AbortController();
    this.#active.set(request.requestId, controller);
    this.#stream(request, controller.signal)
      .catch((error: unknown) => {
        if (!controller.signal.aborted)
          this.send({
            type: "logLines",
            requestId: request.requestId,
            lines: [],
            done: true,
            error: String(error),
          });
      })
      .finally(() => this.#active.delete(request.requestId));
  }

  async #stream(request: LogsRequest, signal: AbortSignal): Promise<void> {
    const run = this.tasks.get(request.taskArn);
    const taskId = request.taskArn.split("/").pop() ?? "";
    const archive = this.tasks.logArchiveDir(taskId);
    const names =
      run?.containerIds() ??
      (existsSync(archive)
        ? readdirSync(archive)
            .filter((f) => f.endsWith(".jsonl"))
            .map((f) => ({ name: f.slice(0, -".jsonl".length), id: "" }))
        : []);
    if (names.length === 0) {
      this.send({
        type: "logLines",
        requestId: request.requestId,
        lines: [],
        done: true,
        error: "No logs of that task are on this host.",
      });
      return;
    }
    const containers = names.filter(
      (c) => request.container === undefined || c.name === request.container,
    );
    let batch: LogLine[] = [];
    let timer: NodeJS.Timeout | undefined;
    const flush = (): void => {
      clearTimeout(timer);
      timer = undefined;
      if (batch.length === 0 || signal.aborted) return;
      this.send({ type: "logLines", requestId: request.requestId, lines: batch, done: false });
      batch = [];
    };
    const add = (container: string, line: RuntimeLogLine): void => {
      batch.push({ container, stream: line.stream, time: line.time, text: line.text });
      if (batch.length >= BATCH_LINES) flush();
      else timer ??= setTimeout(flush, BATCH_MS);
    };
    // Containers are read side by side, so a follower sees every container's lines as they come.
    await Promise.all(
      containers.map(async ({ name, id }) => {
        const archived = join(archive, `${name}.jsonl`);
        let sent = 0;
        if (id !== "" && (await this.runtime.inspectContainer(id)) !== undefined) {
          try {
            for await (const line of this.runtime.readLogs(id, {
              follow: request.follow,
              signal,
            })) {
              add(name, line);
              sent++;
            }
            // Still there: that was all. Deleted meanwhile (a task that exits at once is torn
            // down while its first reader opens the log): the archive holds the rest.
            if ((await this.runtime.inspectContainer(id)) !== undefined) return;
          } catch (error) {
            if (signal.aborted) return;
            this.log.debug("live logs ended; reading the archive", { id, error: String(error) });
          }
        }
        // The container is gone (or went while we read): its archived log, past what was sent.
        if (!existsSync(archived)) return;
        const lines = createInterface({ input: createReadStream(archived), crlfDelay: Infinity });
        for await (const text of lines) {
          if (signal.aborted) return;
          if (sent-- > 0 || text === "") continue;
          add(name, JSON.parse(text) as RuntimeLogLine);
        }
      }),
    );
    flush();
    if (!signal.aborted)
      this.send({ type: "logLines", requestId: request.requestId, lines: [], done: true });
  }
}
