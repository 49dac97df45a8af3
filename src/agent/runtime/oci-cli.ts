/**
 * The OCI runtime's command line (runc, runsc): start, kill, delete, and the state of a
 * container. All share one state root under the agent's run dir, so `list` sees only Berth's.
 */
import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { spawn } from "node:child_process";
import { runCommand } from "./command.js";

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
  /** The command line that runs `args` inside a running container (`tty`: on a new terminal). */
  /** `env` (NAME=VALUE) is added to the container's own environment for this process. */
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
    const dir = join(this.root, id);
    let raw: string;
    try {
      raw = await readFile(join(dir, "state.json"), "utf8");
    } catch {
      return { status: "absent" };
    }
    const state = JSON.parse(raw) as { init_process_pid?: number; init_process_start?: number };
    const pid = state.init_process_pid ?? 0;
    if (!pid || !(await processMatches(pid, state.init_process_start)))
      return { status: "stopped" };
    if (existsSync(join(dir, "exec.fifo"))) return { status: "created", pid };
    return { status: "running", pid };
  }
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
