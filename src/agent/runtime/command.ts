/**
 * Runs a host command (runc, ip, mount) and collects its output; rejects with its stderr. The
 * command is started by one of the agent's spawner processes (spawner-process.ts), so the fork
 * it takes to start a process is paid there, not on the agent's event loop; when no spawner can be had
 * (BERTH_SPAWNER=0 turns it off), it is started here.
 */
import { fork, type ChildProcess } from "node:child_process";
import { runtimeFailed } from "./errors.js";
import {
  BACKGROUND_SPAWNER,
  spawnCommand,
  type SpawnOutcome,
  type SpawnRequest,
} from "./spawn-command.js";
import type { SpawnerReply, SpawnerRequest } from "./spawner-process.js";

export interface CommandResult {
  stdout: string;
  stderr: string;
  code: number;
}

export interface CommandOptions {
  allowFailure?: boolean;
  /**
   * Run at the lowest CPU priority (nice 19) and in the idle I/O class: work done ahead of any
   * task. Started by the background spawner, which holds both itself, so the command does from
   * its first instruction, without a `nice` or `ionice` process before it.
   */
  background?: boolean;
  input?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export async function runCommand(
  file: string,
  args: string[],
  options: CommandOptions = {},
): Promise<CommandResult> {
  const { allowFailure, background, ...rest } = options;
  const outcome = await spawned({ file, args, ...rest }, background === true);
  if (outcome.error !== undefined)
    throw runtimeFailed(`${file} could not be started: ${outcome.error}`);
  const result = { stdout: outcome.stdout, stderr: outcome.stderr, code: outcome.code ?? 128 };
  if (outcome.code === 0 || allowFailure) return result;
  throw runtimeFailed(
    `${file} ${args.join(" ")} failed (${outcome.signal ?? `exit ${outcome.code}`}): ${outcome.stderr.trim() || outcome.stdout.trim()}`,
  );
}

/**
 * Starts a daemon that answers on a sync pipe (fd 3, conmon's protocol): resolves with the first
 * line it writes there, or undefined when the pipe ended without one; rejects when it could not
 * be started or exited with a failure.
 */
export async function startDaemon(
  file: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ line: string | undefined; stderr: string }> {
  const outcome = await spawned({ file, args, env, syncPipe: true });
  if (outcome.error !== undefined) throw runtimeFailed(`${file} could not start: ${outcome.error}`);
  if (outcome.syncLine === undefined && outcome.code !== 0)
    throw runtimeFailed(
      `${file} exited with ${outcome.signal ?? outcome.code}: ${outcome.stderr.trim()}`,
    );
  return { line: outcome.syncLine, stderr: outcome.stderr };
}

function spawned(request: SpawnRequest, background = false): Promise<SpawnOutcome> {
  const spawner = background ? Spawner.background() : Spawner.get();
  if (spawner !== undefined) return spawner.run(request);
  return spawnCommand(
    background
      ? {
          ...request,
          file: "ionice",
          args: ["-c", "3", "nice", "-n", "19", request.file, ...request.args],
        }
      : request,
  );
}

// The spawner's module beside this one: .ts when run from source (tsx), .js when built.
const SPAWNER = new URL(
  `./spawner-process${import.meta.url.endsWith(".ts") ? ".ts" : ".js"}`,
  import.meta.url,
);

/**
 * How many spawners a process keeps. Starting a process holds its parent's event loop until the
 * child has exec'd (libuv waits on a close-on-exec pipe), and with both cores busy that wait is
 * long: a CPU profile of one spawner under 20 callers' launches had it inside spawn() 60% of
 * the time, commands queued behind one another. Two start them side by side.
 */
const SPAWNERS = 2;

/**
 * The spawners of this process, started on first use; each command goes to the one with the
 * fewest in flight (the first on a tie, so one after another they share one); a lost one is
 * started again. Background commands have a spawner of their own, at nice 19 and idle I/O.
 */
class Spawner {
  static readonly #all: Array<Spawner | undefined> = [];
  static #background: Spawner | undefined;
  static #disabled = process.env.BERTH_SPAWNER === "0";

  static background(): Spawner | undefined {
    if (Spawner.#disabled) return undefined;
    try {
      return (Spawner.#background ??= new Spawner(true));
    } catch {
      return undefined;
    }
  }

  static get(): Spawner | undefined {
    if (Spawner.#disabled) return undefined;
    let best: Spawner | undefined;
    try {
      for (let i = 0; i < SPAWNERS; i++) {
        const spawner = (Spawner.#all[i] ??= new Spawner());
        if (best === undefined || spawner.#pending.size < best.#pending.size) best = spawner;
        if (best.#pending.size === 0) break;
      }
    } catch {
      Spawner.#disabled = Spawner.#all.every((spawner) => spawner === undefined);
    }
    return best;
  }

  readonly #child: ChildProcess;
  readonly #pending = new Map<number, (outcome: SpawnOutcome) => void>();
  #next = 0;

  private constructor(background = false) {
    this.#child = fork(SPAWNER, background ? [BACKGROUND_SPAWNER] : [], {
      stdio: ["ignore", "inherit", "inherit", "ipc"],
      serialization: "advanced",
    });
    this.#child.on("message", ({ id, ...outcome }: SpawnerReply) => {
      const settle = this.#pending.get(id);
      this.#pending.delete(id);
      this.#idle();
      settle?.(outcome);
    });
    const lost = (why: string): void => {
      const index = Spawner.#all.indexOf(this);
      if (index >= 0) Spawner.#all[index] = undefined;
      if (Spawner.#background === this) Spawner.#background = undefined;
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

  run(request: SpawnRequest): Promise<SpawnOutcome> {
    const id = this.#next++;
    return new Promise((resolve) => {
      this.#pending.set(id, resolve);
      this.#busy();
      const here = (): void => {
        // Not sent (the spawner is going): started here instead.
        if (!this.#pending.delete(id)) return;
        this.#idle();
        resolve(spawnCommand(request));
      };
      if (!this.#child.connected) here();
      else
        this.#child.send({ id, ...request } satisfies SpawnerRequest, (error) => error && here());
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
