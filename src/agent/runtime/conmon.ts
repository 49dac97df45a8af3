/**
 * Starts conmon, the monitor that owns a container's stdio (written to its log file) and
 * records its exit code in an exit file. conmon double-forks and calls setsid, so it and the
 * container outlive the agent. It runs `<runtime> create` and reports the container's PID on
 * a sync pipe (fd 3); starting the container is left to the caller.
 */
import { spawn } from "node:child_process";
import type { Readable } from "node:stream";
import { runtimeFailed } from "./errors.js";

export interface ConmonOptions {
  id: string;
  name: string;
  bundle: string;
  runtimeBinary: string;
  runtimeArgs: string[];
  logPath: string;
  exitDir: string;
  persistDir: string;
  socketDir: string;
  conmonPidFile: string;
  containerPidFile: string;
  conmonBinary?: string;
}

/** Runs conmon until the container is created; resolves with the container's host PID. */
export function startConmon(options: ConmonOptions): Promise<number> {
  const args = [
    "--api-version",
    "1",
    "--cid",
    options.id,
    "--cuuid",
    options.id,
    "--name",
    options.name,
    "--runtime",
    options.runtimeBinary,
    "--bundle",
    options.bundle,
    "--container-pidfile",
    options.containerPidFile,
    "--conmon-pidfile",
    options.conmonPidFile,
    "--exit-dir",
    options.exitDir,
    "--persist-dir",
    options.persistDir,
    "--log-path",
    `k8s-file:${options.logPath}`,
    // Without a socket dir conmon exits at once, even when nobody attaches.
    "--socket-dir-path",
    options.socketDir,
    "--log-level",
    "error",
    ...options.runtimeArgs.flatMap((arg) => ["--runtime-arg", arg]),
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(options.conmonBinary ?? "conmon", args, {
      stdio: ["ignore", "ignore", "pipe", "pipe"],
      env: { ...process.env, _OCI_SYNCPIPE: "3" },
    });
    let stderr = "";
    let reply = "";
    let settled = false;
    const settle = (error: Error | undefined, pid?: number): void => {
      if (settled) return;
      settled = true;
      sync.destroy();
      child.stderr?.destroy();
      if (error) reject(error);
      else resolve(pid ?? 0);
    };
    const sync = child.stdio[3] as Readable;
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    sync.setEncoding("utf8");
    sync.on("data", (chunk: string) => {
      reply += chunk;
      const newline = reply.indexOf("\n");
      if (newline < 0) return;
      let parsed: { data?: number; message?: string };
      try {
        parsed = JSON.parse(reply.slice(0, newline)) as { data?: number; message?: string };
      } catch {
        return settle(runtimeFailed(`conmon sent an unreadable reply: ${reply}`));
      }
      if (typeof parsed.data === "number" && parsed.data > 0) return settle(undefined, parsed.data);
      settle(runtimeFailed(`creating container ${options.id} failed: ${parsed.message ?? stderr}`));
    });
    sync.on("end", () =>
      settle(runtimeFailed(`conmon ended before creating ${options.id}: ${stderr.trim()}`)),
    );
    sync.on("error", () => undefined);
    child.on("error", (error) => settle(runtimeFailed(`conmon could not start: ${error.message}`)));
    child.on("exit", (code) => {
      if (code !== 0) settle(runtimeFailed(`conmon exited with ${code}: ${stderr.trim()}`));
    });
  });
}
