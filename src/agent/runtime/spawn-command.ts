/**
 * Starts one host command and collects what it says: the one implementation behind runCommand,
 * used in the agent's spawner process (spawner-process.ts) and, when there is none, in the
 * agent itself (command.ts). Nothing here throws: every outcome is a value, so that it can
 * cross the spawner's IPC channel.
 */
import { spawn } from "node:child_process";
import type { Readable } from "node:stream";

/**
 * The argument of the spawner of background commands (command.ts): it runs at nice 19 in the
 * idle I/O class, and so does every process it starts (a child inherits both) from its first
 * instruction, with no `nice` or `ionice` process before it.
 */
export const BACKGROUND_SPAWNER = "--background";

export interface SpawnRequest {
  file: string;
  args: string[];
  input?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /**
   * conmon's protocol: the command gets a sync pipe as fd 3 and keeps running as a daemon
   * (its stdout ignored); the outcome is the first line it writes there, or the pipe's end, or
   * a failed exit, whichever comes first.
   */
  syncPipe?: boolean;
}

export interface SpawnOutcome {
  stdout: string;
  stderr: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the command could not be started at all (ENOENT, EACCES). */
  error?: string;
  /** With `syncPipe`: the first line written on it, or undefined when it ended without one. */
  syncLine?: string;
}

export function spawnCommand(request: SpawnRequest): Promise<SpawnOutcome> {
  return new Promise((resolve) => {
    let stdout = "";
    let stderr = "";
    let child;
    try {
      child = spawn(request.file, request.args, {
        ...(request.env === undefined ? {} : { env: request.env }),
        ...(request.cwd === undefined ? {} : { cwd: request.cwd }),
        stdio: request.syncPipe
          ? ["ignore", "ignore", "pipe", "pipe"]
          : [request.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
      });
    } catch (error) {
      resolve({ stdout, stderr, code: null, signal: null, error: String(error) });
      return;
    }
    let failed: string | undefined;
    let settled = false;
    const settle = (outcome: Partial<SpawnOutcome> & Pick<SpawnOutcome, "code" | "signal">) => {
      if (settled) return;
      settled = true;
      resolve({ stdout, stderr, ...(failed === undefined ? {} : { error: failed }), ...outcome });
    };
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    // A command that exits before reading its input closes the pipe: not a failure to start.
    child.stdin?.on("error", () => undefined);
    if (request.input !== undefined) child.stdin?.end(request.input);
    child.on("error", (error) => {
      failed = error.message;
      if (request.syncPipe) settle({ code: null, signal: null });
    });
    if (!request.syncPipe) {
      child.on("close", (code, signal) => settle({ code, signal }));
      return;
    }
    // The daemon keeps the sync pipe and stderr open: they are let go once it has answered.
    const sync = child.stdio[3] as Readable;
    const letGo = (): void => {
      sync.destroy();
      child.stderr?.destroy();
    };
    let line = "";
    sync.setEncoding("utf8");
    sync.on("data", (chunk: string) => {
      line += chunk;
      const newline = line.indexOf("\n");
      if (newline < 0) return;
      letGo();
      settle({ code: null, signal: null, syncLine: line.slice(0, newline) });
    });
    // Ended without a line: the answer is how the command exited (a daemon's first process
    // exits 0 once it has forked).
    let ended = false;
    let exit: Pick<SpawnOutcome, "code" | "signal"> | undefined;
    sync.on("end", () => {
      ended = true;
      letGo();
      if (exit !== undefined) settle(exit);
    });
    sync.on("error", () => undefined);
    child.on("exit", (code, signal) => {
      exit = { code, signal };
      if (code === 0 && !ended) return;
      letGo();
      settle(exit);
    });
  });
}
