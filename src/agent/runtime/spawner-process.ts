/**
 * The agent's spawner: a small Node process that starts the host commands the agent runs
 * (runc, ip, mount, mkfs, CNI plugins, ebtables) on its behalf and sends back their output
 * (command.ts). Starting a process forks its parent, and a fork costs in proportion to the
 * parent's memory: from the agent (or `berth up`, which hosts the local agent beside the server)
 * each of a launch's dozen commands blocked the event loop for 2-5 ms, and under a burst of
 * launches that was half of the agent's main thread. Forked from this process (a fraction of
 * the memory) it costs less, and on another core. It holds no state: it exits when the agent
 * that started it goes, and a lost spawner is started again on the next command.
 */
import { spawn } from "node:child_process";

export interface SpawnRequest {
  id: number;
  file: string;
  args: string[];
  input?: string;
  env?: NodeJS.ProcessEnv;
}

export interface SpawnReply {
  id: number;
  stdout: string;
  stderr: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the command could not be started at all (ENOENT, EACCES). */
  error?: string;
}

function run(request: SpawnRequest): void {
  const reply = (fields: Omit<SpawnReply, "id">): void => {
    process.send?.({ id: request.id, ...fields } satisfies SpawnReply);
  };
  let child;
  try {
    child = spawn(request.file, request.args, {
      ...(request.env === undefined ? {} : { env: request.env }),
      stdio: [request.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    });
  } catch (error) {
    reply({ stdout: "", stderr: "", code: null, signal: null, error: String(error) });
    return;
  }
  let stdout = "";
  let stderr = "";
  let failed: string | undefined;
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  // A command that exits before reading its input closes the pipe: not the spawner's failure.
  child.stdin?.on("error", () => undefined);
  if (request.input !== undefined) child.stdin?.end(request.input);
  child.on("error", (error) => (failed = error.message));
  child.on("close", (code, signal) =>
    reply({ stdout, stderr, code, signal, ...(failed === undefined ? {} : { error: failed }) }),
  );
}

process.on("message", (request: SpawnRequest) => run(request));
// The agent is gone (exited, or killed): so is the reason to be here.
process.on("disconnect", () => process.exit(0));
