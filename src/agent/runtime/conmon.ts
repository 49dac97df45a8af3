/**
 * Starts conmon, the monitor that owns a container's stdio (written to its log file) and
 * records its exit code in an exit file. conmon double-forks and calls setsid, so it and the
 * container outlive the agent. It runs `<runtime> create` and reports the container's PID on
 * a sync pipe (fd 3); starting the container is left to the caller.
 */
import { startDaemon } from "./command.js";
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
}

/** Runs conmon until the container is created; resolves with the container's host PID. */
export async function startConmon(options: ConmonOptions): Promise<number> {
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
  const { line, stderr } = await startDaemon("conmon", args, {
    ...process.env,
    _OCI_SYNCPIPE: "3",
  });
  if (line === undefined)
    throw runtimeFailed(`conmon ended before creating ${options.id}: ${stderr.trim()}`);
  let parsed: { data?: number; message?: string };
  try {
    parsed = JSON.parse(line) as { data?: number; message?: string };
  } catch {
    throw runtimeFailed(`conmon sent an unreadable reply: ${line}`);
  }
  if (typeof parsed.data === "number" && parsed.data > 0) return parsed.data;
  throw runtimeFailed(`creating container ${options.id} failed: ${parsed.message ?? stderr}`);
}
