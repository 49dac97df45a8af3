/**
 * `berth exec`: a WebSocket at `GET /_berth/tasks/exec?task=ARN[&container=NAME]&arg=..&arg=..
 * [&tty=1&cols=C&rows=R]`, SigV4-signed like any API call (service `ecs`), bridged to the task's
 * host over the agent channel. The checks ECS's ExecuteCommand makes come first, answered as
 * AWS errors before the upgrade. Frames: binary from the client is stdin, text `{"eof":true}`
 * closes it; binary to the client is output with a first byte of 1 (stdout) or 2 (stderr); the
 * last frame is text `{"exitCode":N}` (with `"error"` when the command could not start) or
 * `{"error":"..."}`.
 *
 * Deviation: ECS's ExecuteCommand answers an SSM Session Manager session for the AWS CLI's
 * session-manager-plugin; Berth has no SSM, so exec is Berth's own route and CLI command.
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer, type RawData, type WebSocket } from "ws";
import type { Task } from "@aws-sdk/client-ecs";
import { AwsError, renderError } from "../aws/index.js";
import { taskResource, verifyRouteCaller, type SignedRouteOptions } from "./route-access.js";
import type { Logger } from "../core/index.js";
import {
  readTask,
  type AgentChannelServer,
  type ExecRequest,
  type ExecSession,
  type ExecSink,
} from "../control/index.js";
import type { Store } from "../store/index.js";

export const TASK_EXEC_PATH = "/_berth/tasks/exec";

export const STDOUT_FRAME = 1;
const STDERR_FRAME = 2;

export interface ExecRouteOptions extends SignedRouteOptions {
  store: Store;
  channel: AgentChannelServer;
  log: Logger;
}

// ECS's own text when a task was not run with enableExecuteCommand.
const NOT_ENABLED =
  "The execute command failed because execute command was not enabled when the task was run " +
  "or the execute command agent isn't running. Wait and try again or run a new task with " +
  "execute command enabled and try again.";

export class ExecRoute {
  readonly #wss = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024 });

  constructor(private readonly options: ExecRouteOptions) {}

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.#prepare(req).then(
      ({ hostId, request }) =>
        this.#wss.handleUpgrade(req, socket, head, (ws) => this.#bridge(ws, hostId, request)),
      (error: unknown) => {
        const rendered = renderError(error);
        const headers = Object.entries(rendered.headers).map(([k, v]) => `${k}: ${v}\r\n`);
        socket.end(
          `HTTP/1.1 ${rendered.status} Error\r\n${headers.join("")}Connection: close\r\n` +
            `Content-Length: ${Buffer.byteLength(rendered.body)}\r\n\r\n${rendered.body}`,
        );
      },
    );
  }

  close(): Promise<void> {
    for (const ws of this.#wss.clients) ws.terminate();
    return new Promise((resolve) => this.#wss.close(() => resolve()));
  }

  /** Authenticates and checks the request as ExecuteCommand would; the host and the request. */
  async #prepare(req: IncomingMessage): Promise<{ hostId: string; request: ExecRequest }> {
    const { store } = this.options;
    await verifyRouteCaller(req, Buffer.alloc(0), this.options, {
      action: "ecs:ExecuteCommand",
      resource: taskResource,
    });
    const url = new URL(req.url ?? "/", "http://berth");
    const taskArn = url.searchParams.get("task") ?? "";
    const command = url.searchParams.getAll("arg");
    if (command.length === 0)
      throw new AwsError("InvalidParameterException", "command can not be blank.");
    const row = await store
      .selectFrom("tasks")
      .selectAll()
      .where("arn", "=", taskArn)
      .executeTakeFirst();
    if (row === undefined)
      throw new AwsError("InvalidParameterException", "The referenced task was not found.");
    const task: Task = readTask(row);
    if (task.enableExecuteCommand !== true)
      throw new AwsError("InvalidParameterException", NOT_ENABLED);
    if (task.lastStatus !== "RUNNING" || row.host_id === null)
      throw new AwsError(
        "InvalidParameterException",
        `The execute command failed because the task is ${task.lastStatus ?? "not running"}; it must be RUNNING.`,
      );
    const containers = task.containers ?? [];
    const name = url.searchParams.get("container") ?? undefined;
    if (name === undefined && containers.length > 1)
      throw new AwsError(
        "InvalidParameterException",
        "The container name must be specified when the task has more than one container.",
      );
    const container = name === undefined ? containers[0] : containers.find((c) => c.name === name);
    if (container?.name === undefined)
      throw new AwsError(
        "InvalidParameterException",
        `The container ${name ?? ""} was not found in the task.`,
      );
    const size = (key: string): number | undefined => {
      const value = Number(url.searchParams.get(key));
      return Number.isInteger(value) && value >= 1 && value <= 1000 ? value : undefined;
    };
    const cols = size("cols");
    const rows = size("rows");
    return {
      hostId: row.host_id,
      request: {
        taskArn,
        container: container.name,
        command,
        tty: url.searchParams.get("tty") === "1",
        ...(cols === undefined ? {} : { cols }),
        ...(rows === undefined ? {} : { rows }),
      },
    };
  }

  #bridge(ws: WebSocket, hostId: string, request: ExecRequest): void {
    const finish = (last: { exitCode: number; error?: string } | { error: string }): void => {
      if (ws.readyState !== ws.OPEN) return;
      ws.send(JSON.stringify(last));
      ws.close(1000);
    };
    const session = this.options.channel.openExec(hostId, request, {
      output: (stream, data) => {
        if (ws.readyState !== ws.OPEN) return;
        const tag = Buffer.of(stream === "stdout" ? STDOUT_FRAME : STDERR_FRAME);
        ws.send(Buffer.concat([tag, data]));
      },
      exit: (exitCode, error) =>
        finish(
          exitCode === undefined
            ? { error: error ?? "exec failed" }
            : { exitCode, ...(error === undefined ? {} : { error }) },
        ),
    });
    if (session === undefined) {
      finish({ error: "The task's host is not connected." });
      return;
    }
    ws.on("message", (data: RawData, isBinary) => {
      const bytes = Buffer.isBuffer(data) ? data : Buffer.concat(data as Buffer[]);
      if (isBinary) session.input(bytes);
      else if (parseEof(bytes)) session.input(Buffer.alloc(0), true);
    });
    ws.on("close", () => session.cancel());
    ws.on("error", (error) =>
      this.options.log.debug("exec socket error", { error: error.message }),
    );
  }
}

function parseEof(text: Buffer): boolean {
  try {
    return (JSON.parse(text.toString("utf8")) as { eof?: unknown }).eof === true;
  } catch {
    return false;
  }
}

/**
 * Opens an exec session in a task on its host over the agent channel (`kubectl exec`'s way in;
 * `berth exec` checks more first): "not-found" when there is no such task, undefined when its
 * host is not connected.
 */
export async function openTaskExec(
  options: Pick<ExecRouteOptions, "store" | "channel">,
  taskArn: string,
  request: Omit<ExecRequest, "taskArn">,
  sink: ExecSink,
): Promise<ExecSession | undefined | "not-found"> {
  const row = await options.store
    .selectFrom("tasks")
    .select(["host_id"])
    .where("arn", "=", taskArn)
    .executeTakeFirst();
  if (row === undefined) return "not-found";
  if (row.host_id === null) return undefined;
  return options.channel.openExec(row.host_id, { taskArn, ...request }, sink);
}
