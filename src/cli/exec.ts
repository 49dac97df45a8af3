/**
 * `berth exec TASK [--container NAME] [-i] [-t] -- CMD...`: runs a command in a running task's
 * container, as `docker exec` does — output streamed back, the command's exit code returned;
 * `-i` sends this terminal's input, `-t` gives the command a terminal. The task must have been
 * run with enableExecuteCommand (as ECS requires for ExecuteCommand).
 */
import WebSocket, { type RawData } from "ws";
import { invalidArgument } from "./errors.js";
import { BerthError } from "../core/index.js";
import { STDOUT_FRAME, TASK_EXEC_PATH } from "../server/index.js";
import { ecsClient, signedHeaders } from "./client.js";
import { defineCommand } from "./command.js";
import { CLIENT_FLAGS, clientConfigFrom, type ClientConfig } from "./config.js";
import { findTask } from "./task-lookup.js";

export const exec = defineCommand({
  name: "exec",
  summary: "run a command in a running task's container, as docker exec does",
  usage: ["berth exec [-i] [-t] [--container NAME] TASK -- CMD [ARG...]"],
  description: [
    "TASK is a task id (found in any cluster) or a task ARN; it must have been run with",
    "enableExecuteCommand, as ECS requires (`berth run` does that). The output comes back and",
    "berth exec exits with CMD's exit code (127 when CMD does not exist in the container).",
  ].join("\n"),
  flags: {
    interactive: { type: "boolean", short: "i", help: "send this terminal's input to CMD" },
    tty: {
      type: "boolean",
      short: "t",
      help: "give CMD a terminal, and TERM as docker does (with -i: an interactive shell)",
    },
    container: {
      type: "string",
      value: "NAME",
      help: "the container, needed when the task has several (`berth run`'s is main)",
    },
    cluster: { type: "string", value: "CLUSTER", help: "the task's cluster (default: any)" },
    ...CLIENT_FLAGS,
  },
  positionals: true,
  run: async ({ flags, positionals }, env) => {
    const [task, ...command] = positionals;
    if (task === undefined || command.length === 0)
      throw invalidArgument("name a task and a command: berth exec TASK -- CMD");
    const config = clientConfigFrom(flags, env);
    const taskArn = await resolveTaskArn(config, flags.cluster, task);
    const url = new URL(TASK_EXEC_PATH, config.endpoint);
    url.searchParams.set("task", taskArn);
    if (flags.container !== undefined) url.searchParams.set("container", flags.container);
    for (const arg of command) url.searchParams.append("arg", arg);
    const terminal = flags.tty && process.stdin.isTTY && process.stdout.isTTY;
    if (flags.tty) {
      url.searchParams.set("tty", "1");
      url.searchParams.set("cols", String(terminal ? process.stdout.columns : 80));
      url.searchParams.set("rows", String(terminal ? process.stdout.rows : 24));
    }
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    const headers = await signedHeaders(config, "GET", url);
    return session(new WebSocket(url, { headers }), flags.interactive, flags.tty, terminal);
  },
});

async function resolveTaskArn(
  config: ClientConfig,
  cluster: string | undefined,
  reference: string,
): Promise<string> {
  const ecs = ecsClient(config);
  try {
    const task = await findTask(ecs, cluster, reference);
    return task.taskArn ?? reference;
  } finally {
    ecs.destroy();
  }
}

/** Bridges the socket to this process's stdio; resolves to the command's exit code. */
function session(
  ws: WebSocket,
  interactive: boolean,
  tty: boolean,
  terminal: boolean,
): Promise<number> {
  return new Promise((resolve, reject) => {
    let exitCode: number | undefined;
    let failure: string | undefined;
    const restore = (): void => {
      if (terminal) process.stdin.setRawMode(false);
      process.stdin.pause();
    };
    ws.on("unexpected-response", (_req, res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () =>
        reject(new BerthError("ExecRefused", describeRefusal(res.statusCode, body))),
      );
    });
    ws.on("open", () => {
      if (!interactive) {
        // Without -i the command reads nothing: end of input at once (a terminal just stays idle).
        if (!terminal && !tty) ws.send(JSON.stringify({ eof: true }));
        return;
      }
      if (terminal) process.stdin.setRawMode(true);
      process.stdin.on("data", (chunk: Buffer) => ws.send(chunk, { binary: true }));
      process.stdin.on("end", () => ws.send(JSON.stringify({ eof: true })));
    });
    ws.on("message", (data: RawData, isBinary) => {
      const bytes = Buffer.isBuffer(data) ? data : Buffer.concat(data as Buffer[]);
      if (isBinary) {
        (bytes[0] === STDOUT_FRAME ? process.stdout : process.stderr).write(bytes.subarray(1));
        return;
      }
      const last = JSON.parse(bytes.toString("utf8")) as { exitCode?: number; error?: string };
      exitCode = last.exitCode;
      failure = last.error;
    });
    ws.on("error", (error) => {
      restore();
      reject(new BerthError("ExecFailed", error.message));
    });
    ws.on("close", () => {
      restore();
      if (exitCode !== undefined) {
        // The command could not start (not found: 127, not runnable: 126), as a shell says it.
        if (failure !== undefined) process.stderr.write(`berth exec: ${failure}\n`);
        resolve(exitCode);
      } else
        reject(new BerthError("ExecFailed", failure ?? "the session ended without an exit code"));
    });
  });
}

/** An AWS error body (`{"__type", "message"}`) as a line for the terminal. */
function describeRefusal(status: number | undefined, body: string): string {
  try {
    const error = JSON.parse(body) as { __type?: string; message?: string; Message?: string };
    return `An error occurred (${error.__type ?? status}): ${error.message ?? error.Message ?? ""}`;
  } catch {
    return `the server answered ${String(status)}`;
  }
}
