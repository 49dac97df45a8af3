/**
 * `berth exec TASK [--container NAME] [-i] [-t] -- CMD...`: runs a command in a running task's
 * container, as `docker exec` does — output streamed back, the command's exit code returned;
 * `-i` sends this terminal's input, `-t` gives the command a terminal. The task must have been
 * run with enableExecuteCommand (as ECS requires for ExecuteCommand).
 */
import { parseArgs } from "node:util";
import { DescribeTasksCommand } from "@aws-sdk/client-ecs";
import WebSocket, { type RawData } from "ws";
import { BerthError } from "../core/index.js";
import { STDOUT_FRAME, TASK_EXEC_PATH } from "../server/index.js";
import { ecsClient, signedHeaders } from "./client.js";
import { resolveClientConfig, type ClientConfig } from "./config.js";

export const EXEC_USAGE = `berth exec TASK [--cluster C] [--container NAME] [-i] [-t] -- CMD [ARG...]
  Runs CMD inside a running task (started with enableExecuteCommand; berth run does that).
  -i, --interactive   send standard input to CMD
  -t, --tty           give CMD a terminal (with -i from a terminal: an interactive shell)
  Exits with CMD's exit code.`;

export async function exec(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      endpoint: { type: "string" },
      "data-dir": { type: "string" },
      region: { type: "string" },
      cluster: { type: "string" },
      container: { type: "string" },
      interactive: { type: "boolean", short: "i", default: false },
      tty: { type: "boolean", short: "t", default: false },
    },
    allowPositionals: true,
    strict: true,
  });
  const [task, ...command] = positionals;
  if (task === undefined || command.length === 0) {
    process.stderr.write(`Usage: ${EXEC_USAGE}\n`);
    return 2;
  }
  const config = resolveClientConfig(
    { endpoint: values.endpoint, dataDir: values["data-dir"], region: values.region },
    env,
  );
  const taskArn = await resolveTaskArn(config, values.cluster, task);
  const url = new URL(TASK_EXEC_PATH, config.endpoint);
  url.searchParams.set("task", taskArn);
  if (values.container !== undefined) url.searchParams.set("container", values.container);
  for (const arg of command) url.searchParams.append("arg", arg);
  const terminal = values.tty && process.stdin.isTTY && process.stdout.isTTY;
  if (values.tty) {
    url.searchParams.set("tty", "1");
    url.searchParams.set("cols", String(terminal ? process.stdout.columns : 80));
    url.searchParams.set("rows", String(terminal ? process.stdout.rows : 24));
  }
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  const headers = await signedHeaders(config, "GET", url);
  return session(new WebSocket(url, { headers }), values.interactive, values.tty, terminal);
}

async function resolveTaskArn(
  config: ClientConfig,
  cluster: string | undefined,
  task: string,
): Promise<string> {
  const ecs = ecsClient(config);
  try {
    const { tasks = [] } = await ecs.send(new DescribeTasksCommand({ cluster, tasks: [task] }));
    const arn = tasks[0]?.taskArn;
    if (arn === undefined) throw new BerthError("TaskNotFound", `Task ${task} was not found.`);
    return arn;
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
      if (exitCode !== undefined) resolve(exitCode);
      else
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
