/**
 * Serving `exec` sessions from the control plane (`berth exec`): a process started inside one
 * running container of a task, its input fed from `execInput`, its output sent back as
 * `execOutput` and its end as `execExit`. Sessions die with the channel that opened them.
 */
import type { ChildProcessWithoutNullStreams } from "node:child_process";
import { constants } from "node:os";
import type { Logger } from "../core/index.js";
import type { AgentMessage, ServerMessage } from "../protocol/index.js";
import type { ContainerRuntime } from "./runtime/index.js";
import type { TaskManager } from "./tasks/task-manager.js";

/** runc's exit code when it fails itself (script --return passes it on). */
const RUNTIME_FAILED = 255;

type ExecRequest = Extract<ServerMessage, { type: "exec" }>;
type ExecMessage = Extract<AgentMessage, { type: "execOutput" | "execExit" }>;

/** A session's process, or the input that came while it was being started. */
type Session =
  | {
      child: ChildProcessWithoutNullStreams;
      tty: boolean;
      /** The resize under way: each waits for the one before, so the last size asked wins. */
      resized: Promise<void>;
    }
  | {
      pending: Array<Extract<ServerMessage, { type: "execInput" | "execResize" }>>;
      cancelled: boolean;
    };

export class TaskExecServer {
  readonly #sessions = new Map<string, Session>();

  constructor(
    private readonly tasks: TaskManager,
    private readonly runtime: ContainerRuntime,
    private readonly send: (message: ExecMessage) => void,
    private readonly log: Logger,
  ) {}

  serve(request: ExecRequest): void {
    this.#sessions.set(request.requestId, { pending: [], cancelled: false });
    this.#start(request).catch((error: unknown) => {
      this.#sessions.delete(request.requestId);
      this.send({
        type: "execExit",
        requestId: request.requestId,
        error: error instanceof Error ? error.message : String(error),
      });
    });
  }

  input(message: Extract<ServerMessage, { type: "execInput" }>): void {
    const session = this.#sessions.get(message.requestId);
    if (session === undefined) return;
    if ("pending" in session) {
      session.pending.push(message);
      return;
    }
    if (message.data !== "") session.child.stdin.write(Buffer.from(message.data, "base64"));
    // On a terminal, the end of input is the terminal's EOF character, as when typed.
    if (message.eof === true)
      if (session.tty) session.child.stdin.write("\x04");
      else session.child.stdin.end();
  }

  resize(message: Extract<ServerMessage, { type: "execResize" }>): void {
    const session = this.#sessions.get(message.requestId);
    if (session === undefined) return;
    if ("pending" in session) {
      session.pending.push(message);
      return;
    }
    if (!session.tty) return;
    // Two resizes close together (a terminal's cols, then its rows) must apply in order: run side
    // by side, the first could land last and leave the terminal at the older size.
    const { child } = session;
    session.resized = session.resized
      .then(() => this.runtime.resizeExec(child, message.cols, message.rows))
      .catch((error: unknown) =>
        this.log.debug("exec resize failed", { error: (error as Error).message }),
      );
  }

  cancel(requestId: string): void {
    const session = this.#sessions.get(requestId);
    if (session === undefined) return;
    if ("pending" in session) session.cancelled = true;
    else session.child.kill("SIGKILL");
  }

  cancelAll(): void {
    for (const requestId of this.#sessions.keys()) this.cancel(requestId);
  }

  async #start(request: ExecRequest): Promise<void> {
    const run = this.tasks.get(request.taskArn);
    if (run === undefined) throw new Error("The task is not on this host.");
    const container = run.containerIds().find((c) => c.name === request.container);
    const state = run.state.containers.find((c) => c.name === request.container);
    if (container === undefined || state === undefined)
      throw new Error(`The task has no container named ${request.container}.`);
    if (state.lastStatus !== "RUNNING")
      throw new Error(`The container ${request.container} is not running.`);
    const child = await this.runtime.spawnExec(container.id, request.command, {
      tty: request.tty,
      ...(request.cols === undefined ? {} : { cols: request.cols }),
      ...(request.rows === undefined ? {} : { rows: request.rows }),
    });
    const { requestId } = request;
    const before = this.#sessions.get(requestId);
    this.#sessions.set(requestId, { child, tty: request.tty, resized: Promise.resolve() });
    this.log.debug("exec started", { requestId, container: container.id });
    // The runtime's own line when it could not start the command is held back: if the runtime
    // then fails (runc exits 255) with nothing else said, the session ends with that line as its
    // error and a shell's code (127 not found, 126 not runnable), as docker exec does; otherwise
    // it was the command's output after all, and goes on.
    let output = false;
    let held: { stream: "stdout" | "stderr"; chunk: Buffer; failure: string } | undefined;
    const send = (stream: "stdout" | "stderr", chunk: Buffer): void =>
      this.send({ type: "execOutput", requestId, stream, data: chunk.toString("base64") });
    const release = (): void => {
      if (held !== undefined) send(held.stream, held.chunk);
      held = undefined;
    };
    const forward = (stream: "stdout" | "stderr") => (chunk: Buffer) => {
      if (!output) {
        const failure = runtimeStartFailure(chunk.toString("utf8"));
        if (failure !== undefined) {
          held = { stream, chunk, failure };
          output = true;
          return;
        }
      }
      output = true;
      release();
      send(stream, chunk);
    };
    child.stdout.on("data", forward("stdout"));
    child.stderr.on("data", forward("stderr"));
    // A process that ignores its input must not fail the session when the input closes.
    child.stdin.on("error", () => undefined);
    child.on("error", (error) => {
      this.#sessions.delete(requestId);
      this.send({ type: "execExit", requestId, error: error.message });
    });
    if (before !== undefined && "pending" in before) {
      if (before.cancelled) child.kill("SIGKILL");
      for (const message of before.pending)
        if (message.type === "execInput") this.input(message);
        else this.resize(message);
    }
    // `close` comes after both output streams ended, so no output follows the exit.
    child.on("close", (code, signal) => {
      this.#sessions.delete(requestId);
      if (held !== undefined && code === RUNTIME_FAILED) {
        const notFound = /not found|no such file/i.test(held.failure);
        this.send({
          type: "execExit",
          requestId,
          exitCode: notFound ? 127 : 126,
          error: held.failure,
        });
        return;
      }
      release();
      this.send({
        type: "execExit",
        requestId,
        exitCode: code ?? 128 + (signal === null ? 0 : constants.signals[signal]),
      });
    });
  }
}

/**
 * What the OCI runtime said when it could not start an exec'd command, from the first output of
 * the session: runc logs one line, `time="..." level=error msg="exec failed: unable to start
 * container process: exec: \"nosuch\": executable file not found in $PATH"`, or on a terminal
 * `ERRO[0000] exec failed: ...` (in colour). Undefined for anything else (the command's output).
 */
export function runtimeStartFailure(text: string): string | undefined {
  const logfmt = /^time="[^"]*" level=(?:error|fatal) msg="(.*)"\s*$/s.exec(text)?.[1];
  // eslint-disable-next-line no-control-regex
  const terminal = /^(?:\x1b\[\d+m)?(?:ERRO|FATA)(?:\x1b\[0m)?\[\d+\] (.*?)\s*$/s.exec(text)?.[1];
  const message = logfmt?.replace(/\\"/g, '"') ?? terminal;
  if (message === undefined || !message.includes("exec failed")) return undefined;
  return /exec: (.*)$/s.exec(message)?.[1] ?? message;
}
