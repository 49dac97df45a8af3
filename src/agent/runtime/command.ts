/**
 * Runs a host command (runc, ip, mount) and collects its output; rejects with its stderr. The
 * command is started by the agent's spawner process (spawner-process.ts), so the fork it takes
 * to start a process is paid there, not on the agent's event loop; when no spawner can be had,
 * it is started here.
 */
import { fork, spawn, type ChildProcess } from "node:child_process";
import { runtimeFailed } from "./errors.js";
import type { SpawnReply, SpawnRequest } from "./spawner-process.js";

export interface CommandResult {
  stdout: string;
  stderr: string;
  code: number;
}

export interface CommandOptions {
  allowFailure?: boolean;
  input?: string;
  env?: NodeJS.ProcessEnv;
}

export function runCommand(
  file: string,
  args: string[],
  options: CommandOptions = {},
): Promise<CommandResult> {
  const spawner = Spawner.get();
  const outcome =
    spawner === undefined ? runHere(file, args, options) : spawner.run(file, args, options);
  return outcome.then((reply) => {
    if (reply.error !== undefined)
      throw runtimeFailed(`${file} could not be started: ${reply.error}`);
    const result = { stdout: reply.stdout, stderr: reply.stderr, code: reply.code ?? 128 };
    if (reply.code === 0 || options.allowFailure) return result;
    throw runtimeFailed(
      `${file} ${args.join(" ")} failed (${reply.signal ?? `exit ${reply.code}`}): ${reply.stderr.trim() || reply.stdout.trim()}`,
    );
  });
}

type Outcome = Omit<SpawnReply, "id">;

/** Starts the command from this process. */
function runHere(file: string, args: string[], options: CommandOptions): Promise<Outcome> {
  return new Promise((resolve) => {
    const child = spawn(file, args, {
      ...(options.env === undefined ? {} : { env: options.env }),
      stdio: [options.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let failed: string | undefined;
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.stdin?.on("error", () => undefined);
    if (options.input !== undefined) child.stdin?.end(options.input);
    child.on("error", (error) => (failed = error.message));
    child.on("close", (code, signal) =>
      resolve({ stdout, stderr, code, signal, ...(failed === undefined ? {} : { error: failed }) }),
    );
  });
}

// The spawner's module beside this one: .ts when run from source (tsx), .js when built.
const SPAWNER = new URL(
  `./spawner-process${import.meta.url.endsWith(".ts") ? ".ts" : ".js"}`,
  import.meta.url,
);

/** One spawner per process, started on first use; a lost one is started again. */
class Spawner {
  static #current: Spawner | undefined;
  static #disabled = process.env.BERTH_SPAWNER === "0";

  static get(): Spawner | undefined {
    if (Spawner.#disabled) return undefined;
    try {
      Spawner.#current ??= new Spawner();
    } catch {
      Spawner.#disabled = true;
    }
    return Spawner.#current;
  }

  readonly #child: ChildProcess;
  readonly #pending = new Map<number, (outcome: Outcome) => void>();
  #next = 0;

  private constructor() {
    this.#child = fork(SPAWNER, [], {
      stdio: ["ignore", "inherit", "inherit", "ipc"],
      serialization: "advanced",
    });
    this.#child.on("message", (reply: SpawnReply) => {
      const settle = this.#pending.get(reply.id);
      this.#pending.delete(reply.id);
      this.#idle();
      settle?.(reply);
    });
    const lost = (why: string): void => {
      if (Spawner.#current === this) Spawner.#current = undefined;
      // A command in flight may or may not have run: it fails, as it would if the agent died.
      for (const settle of this.#pending.values())
        settle({ stdout: "", stderr: "", code: null, signal: null, error: why });
      this.#pending.clear();
    };
    this.#child.on("error", (error) => lost(`the spawner failed: ${error.message}`));
    this.#child.on("exit", (code, signal) =>
      lost(`the spawner exited (${signal ?? `exit ${String(code)}`})`),
    );
    this.#idle();
  }

  run(file: string, args: string[], options: CommandOptions): Promise<Outcome> {
    const id = this.#next++;
    const request: SpawnRequest = {
      id,
      file,
      args,
      ...(options.input === undefined ? {} : { input: options.input }),
      ...(options.env === undefined ? {} : { env: options.env }),
    };
    return new Promise((resolve) => {
      this.#pending.set(id, resolve);
      this.#busy();
      const here = (): void => {
        // Not sent (the spawner is going): started here instead.
        if (!this.#pending.delete(id)) return;
        this.#idle();
        resolve(runHere(file, args, options));
      };
      if (!this.#child.connected) here();
      else this.#child.send(request, (error) => error && here());
    });
  }

  // The spawner keeps this process alive only while a command is in flight.
  #busy(): void {
    this.#child.ref();
    this.#child.channel?.ref();
  }

  #idle(): void {
    if (this.#pending.size > 0) return;
    this.#child.unref();
    this.#child.channel?.unref();
  }
}
