/**
 * Serving `logs` requests from the control plane: a task's container logs, as kept by each
 * container's monitor, sent back in batches (at most 500 lines or 50 ms apart) until the logs
 * end — or, when following, until the task's containers have all exited and drained.
 */
import type { Logger } from "../core/index.js";
import type { AgentMessage, LogLine, ServerMessage } from "../protocol/index.js";
import type { ContainerRuntime } from "./runtime/index.js";
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
    if (run === undefined) {
      this.send({
        type: "logLines",
        requestId: request.requestId,
        lines: [],
        done: true,
        error: "The task is not on this host.",
      });
      return;
    }
    const containers = run
      .containerIds()
      .filter((c) => request.container === undefined || c.name === request.container);
    let batch: LogLine[] = [];
    let timer: NodeJS.Timeout | undefined;
    const flush = (): void => {
      clearTimeout(timer);
      timer = undefined;
      if (batch.length === 0 || signal.aborted) return;
      this.send({ type: "logLines", requestId: request.requestId, lines: batch, done: false });
      batch = [];
    };
    const add = (line: LogLine): void => {
      batch.push(line);
      if (batch.length >= BATCH_LINES) flush();
      else timer ??= setTimeout(flush, BATCH_MS);
    };
    // Containers are read side by side, so a follower sees every container's lines as they come.
    await Promise.all(
      containers.map(async ({ name, id }) => {
        try {
          for await (const line of this.runtime.readLogs(id, { follow: request.follow, signal })) {
            add({ container: name, stream: line.stream, time: line.time, text: line.text });
          }
        } catch (error) {
          if (!signal.aborted) this.log.debug("reading logs ended", { id, error: String(error) });
        }
      }),
    );
    flush();
    if (!signal.aborted)
      this.send({ type: "logLines", requestId: request.requestId, lines: [], done: true });
  }
}
