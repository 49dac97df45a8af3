/**
 * The OCI runtime's command line (runc, runsc): start, kill, delete, and the state of a
 * container. All share one state root under the agent's run dir, so `list` sees only Berth's.
 */
import { constants as fsConstants, existsSync, openSync } from "node:fs";
import { readdir, readFile, rm, unlink } from "node:fs/promises";
import { Socket } from "node:net";
import { join } from "node:path";
import { spawn } from "node:child_process";
import { removeTree, settleAll } from "./cgroups.js";
import { runCommand } from "./command.js";
import { runtimeFailed } from "./errors.js";

export type OciStatus = "created" | "running" | "stopped" | "absent";

export interface OciRuntimeCli {
  readonly binary: string;
  /** Global flags (`--root ...`, `--platform=ptrace`) conmon passes on to the runtime. */
  readonly globalArgs: string[];
  start(id: string): Promise<void>;
  kill(id: string, signal: string): Promise<void>;
  delete(id: string): Promise<void>;
  state(id: string): Promise<{ status: OciStatus; pid?: number }>;
  list(): Promise<string[]>;
  /** Runs a process inside a running container; its exit code, or 124 when it timed out. */
  exec(id: string, args: string[], timeoutMs: number): Promise<number>;
  /**
   * The command line that runs `args` inside a running container (`tty`: on a new terminal);
   * `env` (NAME=VALUE) is added to the container's own environment for this process.
   */
  execArgv(id: string, args: string[], tty: boolean, env?: string[]): string[];
  /** True when a task's containers must share one sandbox (gVisor): see podSandbox. */
  readonly podSandbox?: boolean;
}

export class CliOciRuntime implements OciRuntimeCli {
  constructor(
    readonly binary: string,
    readonly root: string,
    private readonly extraArgs: string[] = [],
  ) {}

  get globalArgs(): string[] {
    return [`--root=${this.root}`, ...this.extraArgs];
  }

  async start(id: string): Promise<void> {
    await runCommand(this.binary, [...this.globalArgs, "start", id]);
  }

  exec(id: string, args: string[], timeoutMs: number): Promise<number> {
    return new Promise((resolve) => {
      const child = spawn(this.binary, [...this.globalArgs, "exec", id, ...args], {
        stdio: "ignore",
      });
      // As `timeout(1)` reports it: a check that hangs counts as failed.
      const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
      child.on("error", () => {
        clearTimeout(timer);
        resolve(126);
      });
      child.on("close", (code) => {
        clearTimeout(timer);
        resolve(code ?? 124);
      });
    });
  }

  execArgv(id: string, args: string[], tty: boolean, env: string[] = []): string[] {
    return [
      this.binary,
      ...this.globalArgs,
      "exec",
      ...(tty ? ["--tty"] : []),
      ...env.flatMap((pair) => ["--env", pair]),
      id,
      ...args,
    ];
  }

  async kill(id: string, signal: string): Promise<void> {
    const result = await runCommand(this.binary, [...this.globalArgs, "kill", id, signal], {
      allowFailure: true,
    });
    // Killing what already exited is not an error for us.
    if (result.code !== 0 && !/not running|does not exist|stopped/i.test(result.stderr)) {
      await runCommand(this.binary, [...this.globalArgs, "kill", id, signal]);
    }
  }

  async delete(id: string): Promise<void> {
    await runCommand(this.binary, [...this.globalArgs, "delete", "--force", id], {
      allowFailure: true,
    });
  }

  async state(id: string): Promise<{ status: OciStatus; pid?: number }> {
    const result = await runCommand(this.binary, [...this.globalArgs, "state", id], {
      allowFailure: true,
    });
    if (result.code !== 0) return { status: "absent" };
    const state = JSON.parse(result.stdout) as { status?: string; pid?: number };
    const status = (["created", "running"] as string[]).includes(state.status ?? "")
      ? (state.status as OciStatus)
      : "stopped";
    return { status, pid: state.pid || undefined };
  }

  async list(): Promise<string[]> {
    try {
      return await readdir(this.root);
    } catch {
      return [];
    }
  }
}

/**
 * runc, with its state read straight from its state root (as `runc state` does, without the
 * 10 ms of a process): `exec.fifo` is there until `runc start`; then the init PID runs or not.
 * Started the same way, through that fifo (`startThroughExecFifo`), and a container that has
 * ended deleted as runc does (`delete`). All read runc 1.1's state dir layout, a deliberate
 * dependence on runc's internals for the launch path's sake.
 */
export class RuncCli extends CliOciRuntime {
  /** `wrapper` runs `runc` with its arguments (libexec/berth-runc). */
  constructor(
    wrapper: string,
    private readonly runc: string,
    root: string,
  ) {
    super(wrapper, root);
  }

  override get globalArgs(): string[] {
    return [this.runc, ...super.globalArgs];
  }

  override async state(id: string): Promise<{ status: OciStatus; pid?: number }> {
    const init = await this.#init(id);
    if (init === undefined) return { status: "absent" };
    if (!init.pid || !(await processMatches(init.pid, init.startTicks)))
      return { status: "stopped" };
    if (existsSync(join(this.root, id, "exec.fifo"))) return { status: "created", pid: init.pid };
    return { status: "running", pid: init.pid };
  }

  /**
   * What `runc start` does, without a runc process on the launch path (~10 ms of a Go start).
   * Without the fifo (not created, or started already) `runc start` itself answers, in its own
   * words.
   */
  override async start(id: string): Promise<void> {
    const init = await this.#init(id);
    const fifo = join(this.root, id, "exec.fifo");
    if (!init?.pid || !existsSync(fifo)) return super.start(id);
    await startThroughExecFifo(fifo, init.pid, init.startTicks);
  }

  /**
   * What `runc delete` does to a container whose init has ended in its own PID namespace (the
   * kernel ended every other process in it then), without a runc process on every stop (~10 ms
   * of a Go start): its cgroups removed (each path runc made, waiting while they empty, as
   * runc's cgroup manager does), then its state dir. Anything else (still running, created,
   * a PID namespace joined by path, whose other processes runc kills first) goes to runc.
   */
  override async delete(id: string): Promise<void> {
    const state = await this.#state(id);
    if (state === undefined) return;
    // Forgotten before and after (a read meanwhile is not kept): a container made again under
    // this id has a state of its own.
    const forget = (): void => {
      createdStates.delete(join(this.root, id, "state.json"));
      deletes++;
    };
    forget();
    try {
      const pid = state.init_process_pid ?? 0;
      const ownPidns = (state.config?.namespaces ?? []).some(
        (ns) => ns.type === "NEWPID" && !ns.path,
      );
      if (!ownPidns || (pid > 0 && (await processMatches(pid, state.init_process_start))))
        return await super.delete(id);
      // Side by side: one directory per hierarchy (cpu and cpuacct name the same one twice).
      await settleAll([...new Set(Object.values(state.cgroup_paths ?? {}))].map(removeTree));
      await rm(join(this.root, id), { recursive: true, force: true });
    } finally {
      forget();
    }
  }

  /** The container's init process from runc's state.json (its start time tells a reused PID). */
  async #init(id: string): Promise<{ pid: number; startTicks?: number } | undefined> {
    const state = await this.#state(id);
    if (state === undefined) return undefined;
    return {
      pid: state.init_process_pid ?? 0,
      ...(state.init_process_start === undefined ? {} : { startTicks: state.init_process_start }),
    };
  }

  /** runc's state.json of the container (the parts read here), if it has one. */
  async #state(id: string): Promise<RuncState | undefined> {
    const file = join(this.root, id, "state.json");
    const known = createdStates.get(file);
    if (known !== undefined) return known;
    const deletesBefore = deletes;
    let raw: string;
    try {
      raw = await readFile(file, "utf8");
    } catch {
      return undefined;
    }
    const state = JSON.parse(raw) as RuncState;
    // Not kept when a delete ran meanwhile: this read may be of the container it deleted.
    if (deletes === deletesBefore) {
      if (createdStates.size >= CREATED_STATES_MAX) createdStates.clear();
      createdStates.set(file, state);
    }
    return state;
  }
}

/**
 * The parts of runc's state.json read here, by file, once read: they are fixed when the
 * container is created (its init's PID and start time, its namespaces, its cgroup paths), and
 * a start or a stop read them two to four times. Forgotten at `delete` (a container made again
 * under the same id is read anew). Bounded: past the bound everything is read again.
 */
const createdStates = new Map<string, RuncState>();
const CREATED_STATES_MAX = 10_000;
/** Deletes begun and ended so far: a read that a delete overlapped is not kept. */
let deletes = 0;

/** What this file reads of runc 1.1's state.json. */
interface RuncState {
  init_process_pid?: number;
  init_process_start?: number;
  config?: { namespaces?: Array<{ type?: string; path?: string }> };
  /** Controller -> the container's cgroup directory (absolute), one per hierarchy. */
  cgroup_paths?: Record<string, string>;
}

/** How often a start looks whether the init it waits for is still there (runc's interval). */
const INIT_CHECK_MS = 100;

/**
 * Starts a runc container created and waiting: its init is blocked opening `fifo` (exec.fifo in
 * its state dir) for writing until someone opens it for reading; it then writes "0" and execs
 * the container's process, which closes its end (O_CLOEXEC). runc's start (libcontainer's
 * `exec`, runc 1.1) opens the fifo, reads to the end, and removes it, which is what makes
 * `state` say "running"; this does the same.
 *
 * Nothing here blocks a thread: the fifo is opened O_NONBLOCK (which lets the init's open go
 * on) and read as a libuv pipe, through epoll. A FIFO opened so reports no hang-up until a
 * writer has come (Linux's fifo_open), so the read waits for the init's byte and the end
 * after it. An init that died before it was started never comes: as runc does, its PID is
 * looked at every 100 ms, and once it has been gone twice in a row (the second look leaves
 * time for a byte already written to be read) the start fails.
 */
export function startThroughExecFifo(
  fifo: string,
  pid: number,
  startTicks?: number,
): Promise<void> {
  let fd: number;
  try {
    fd = openSync(fifo, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  } catch (error) {
    return Promise.reject(
      runtimeFailed(`cannot open the container's exec fifo: ${(error as Error).message}`),
    );
  }
  const reader = new Socket({ fd, readable: true, writable: false });
  return new Promise<void>((resolve, reject) => {
    let received = 0;
    let goneLooks = 0;
    const fail = (message: string): void => {
      clearInterval(watch);
      reader.destroy();
      reject(runtimeFailed(message));
    };
    const watch = setInterval(() => {
      void processMatches(pid, startTicks).then((alive) => {
        goneLooks = alive || received > 0 ? 0 : goneLooks + 1;
        if (goneLooks >= 2) fail(`container process ${pid} ended before it was started`);
      });
    }, INIT_CHECK_MS);
    reader.on("data", (chunk: Buffer) => {
      received += chunk.length;
    });
    reader.on("error", (error) => fail(`reading the container's exec fifo: ${error.message}`));
    reader.on("end", () => {
      clearInterval(watch);
      reader.destroy();
      if (received === 0) {
        reject(runtimeFailed(`container process ${pid} ended before it was started`));
        return;
      }
      unlink(fifo).then(resolve, (error: Error) =>
        reject(runtimeFailed(`removing the container's exec fifo: ${error.message}`)),
      );
    });
  });
}

/** True when `pid` is alive, not a zombie, and (when known) started at `startTicks`. */
export async function processMatches(pid: number, startTicks?: number): Promise<boolean> {
  let stat: string;
  try {
    stat = await readFile(`/proc/${pid}/stat`, "utf8");
  } catch {
    return false;
  }
  // Fields after the command name (which may hold spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  if (fields[0] === "Z" || fields[0] === "X") return false;
  return startTicks === undefined || Number(fields[19]) === startTicks;
}
