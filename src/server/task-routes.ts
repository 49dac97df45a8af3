/**
 * Task endpoints of Berth's own beside the AWS APIs, SigV4-signed like any API call:
 * `GET /_berth/tasks/progress?task=ARN`: the latest image pull progress of a starting task.
 * `GET /_berth/tasks/logs?task=ARN[&container=NAME][&follow=1]`: a task's container logs as
 * newline-delimited JSON, fetched from the task's host over the agent channel. SigV4-signed
 * like any API call (service `ecs`). The last line is `{"done":true}` (with `error` if any).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { AwsError, renderError } from "../aws/index.js";
import {
  taskResource,
  verifyRouteCaller,
  type RouteAccess,
  type SignedRouteOptions,
} from "./route-access.js";
import { BodyTooLarge, readBodyWithin } from "../core/index.js";
import type { AgentChannelServer, LogSink } from "../control/index.js";
import type { Store } from "../store/index.js";

export const TASK_LOGS_PATH = "/_berth/tasks/logs";
export const TASK_PROGRESS_PATH = "/_berth/tasks/progress";

export interface TaskLogsRouteOptions extends SignedRouteOptions {
  store: Store;
  channel: AgentChannelServer;
}

/** Reading a task's logs or pull progress is describing it, as far as IAM goes. */
const DESCRIBE_TASK: RouteAccess = { action: "ecs:DescribeTasks", resource: taskResource };

/** Writes an AWS error answer (the one renderer's status, headers and body). */
export function fail(res: ServerResponse, error: unknown, close = false): void {
  // A failure after the answer began (a stream cut short) can only end the connection.
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const rendered = renderError(error);
  res.writeHead(rendered.status, {
    ...rendered.headers,
    "Content-Length": Buffer.byteLength(rendered.body),
    ...(close ? { Connection: "close" } : {}),
  });
  res.end(rendered.body);
}

/** Writes a 200 answer of `value` as JSON. */
export function answerJson(
  res: ServerResponse,
  value: unknown,
  headers: Record<string, string> = {},
): void {
  const body = JSON.stringify(value);
  res.writeHead(200, {
    "Content-Type": "application/json",
    ...headers,
    "Content-Length": Buffer.byteLength(body),
  });
  res.end(body);
}

export async function authenticate(
  req: IncomingMessage,
  res: ServerResponse,
  options: SignedRouteOptions,
  access: RouteAccess,
): Promise<boolean> {
  try {
    await verifyRouteCaller(req, Buffer.alloc(0), options, access);
    return true;
  } catch (error) {
    fail(res, error);
    return false;
  }
}

export interface PullProgressEntry {
  container: string;
  bytesDone: number;
  bytesTotal: number;
}

/** The latest image pull progress of each task, as its agent reported it (kept in memory). */
export class PullProgress {
  readonly #latest = new Map<string, PullProgressEntry>();

  record(taskArn: string, entry: PullProgressEntry): void {
    this.#latest.delete(taskArn);
    this.#latest.set(taskArn, entry);
    // Only pulls under way matter; the oldest entries go first.
    const oldest = this.#latest.keys().next().value;
    if (this.#latest.size > 1000 && oldest !== undefined) this.#latest.delete(oldest);
  }

  get(taskArn: string): PullProgressEntry | undefined {
    return this.#latest.get(taskArn);
  }
}

/** `GET /_berth/tasks/progress?task=ARN`: `{container, bytesDone, bytesTotal}`, or `{}`. */
export async function serveTaskProgress(
  req: IncomingMessage,
  res: ServerResponse,
  options: SignedRouteOptions & { progress: PullProgress },
): Promise<void> {
  if (!(await authenticate(req, res, options, DESCRIBE_TASK))) return;
  const taskArn = new URL(req.url ?? "/", "http://berth").searchParams.get("task") ?? "";
  answerJson(res, options.progress.get(taskArn) ?? {});
}

export async function serveTaskLogs(
  req: IncomingMessage,
  res: ServerResponse,
  options: TaskLogsRouteOptions,
): Promise<void> {
  if (!(await authenticate(req, res, options, DESCRIBE_TASK))) return;
  const url = new URL(req.url ?? "/", "http://berth");
  const taskArn = url.searchParams.get("task") ?? "";
  const container = url.searchParams.get("container") ?? undefined;
  const follow = url.searchParams.get("follow") === "1";
  const opened = await openTaskLogs(
    options,
    taskArn,
    { ...(container === undefined ? {} : { container }), follow },
    (lines, done, error) => {
      if (res.writableEnded) return;
      const text = lines.map((line) => JSON.stringify(line)).join("\n");
      if (text !== "") res.write(text + "\n");
      if (done)
        res.end(JSON.stringify({ done: true, ...(error === undefined ? {} : { error }) }) + "\n");
    },
    () =>
      res.writeHead(200, { "Content-Type": "application/x-ndjson", "Cache-Control": "no-store" }),
  );
  if (opened === "not-found") {
    fail(res, new AwsError("InvalidParameterException", "The referenced task was not found."));
    return;
  }
  const cancel = opened;
  if (cancel === undefined) {
    res.end(JSON.stringify({ done: true, error: "The task's host is not connected." }) + "\n");
    return;
  }
  res.on("close", cancel);
}

/**
 * Streams a task's container output from its host over the agent channel (the one path for
 * `/_berth/tasks/logs` and `kubectl logs`). `beforeStream` runs once the task is known, before
 * any line; "not-found" when there is no such task, undefined when its host is not connected.
 */
export async function openTaskLogs(
  options: Pick<TaskLogsRouteOptions, "store" | "channel">,
  taskArn: string,
  request: { container?: string; follow: boolean },
  onLines: LogSink,
  beforeStream: () => void = () => undefined,
): Promise<(() => void) | undefined | "not-found"> {
  const row = await options.store
    .selectFrom("tasks")
    .select(["host_id"])
    .where("arn", "=", taskArn)
    .executeTakeFirst();
  if (row === undefined) return "not-found";
  beforeStream();
  if (row.host_id === null) return undefined;
  return options.channel.streamLogs(row.host_id, { taskArn, ...request }, onLines);
}

/**
 * Reads a small JSON body (at most 64 KiB) and checks its SigV4 signature (service `ecs`).
 * Answers the error itself and returns undefined when either fails; an empty body is `{}`.
 */
export async function readSignedJson<T>(
  req: IncomingMessage,
  res: ServerResponse,
  options: SignedRouteOptions,
  access: RouteAccess,
): Promise<T | undefined> {
  return (await readSignedJsonFrom<T>(req, res, options, access))?.value;
}

/** readSignedJson, with the access key that signed it. */
export async function readSignedJsonFrom<T>(
  req: IncomingMessage,
  res: ServerResponse,
  options: SignedRouteOptions,
  access: RouteAccess,
): Promise<{ value: T; accessKeyId: string } | undefined> {
  let body: Buffer;
  try {
    body = await readBodyWithin(req, 64 * 1024);
  } catch (error) {
    if (!(error instanceof BodyTooLarge)) throw error;
    fail(
      res,
      new AwsError("RequestEntityTooLargeException", "Request body must be at most 65536 bytes."),
    );
    return undefined;
  }
  let accessKeyId: string;
  try {
    accessKeyId = await verifyRouteCaller(req, body, options, access);
  } catch (error) {
    fail(res, error);
    return undefined;
  }
  try {
    const value: unknown = body.length === 0 ? {} : JSON.parse(body.toString("utf8"));
    if (value === null || typeof value !== "object" || Array.isArray(value))
      throw new SyntaxError("not an object");
    return { value: value as T, accessKeyId };
  } catch {
    fail(res, new AwsError("SerializationException", ""));
    return undefined;
  }
}

export const SPOT_INTERRUPT_PATH = "/_berth/spot/interrupt";

/**
 * `POST /_berth/spot/interrupt` with `{"hostId"?: "...", "fraction"?: 0.5}`: reclaims Spot
 * capacity. Answers `{"interrupted": [taskArn, ...]}`; each task gets the warning, then stops.
 */
export async function serveSpotInterrupt(
  req: IncomingMessage,
  res: ServerResponse,
  options: SignedRouteOptions & {
    interrupt: (selection: { hostId?: string; fraction?: number }) => Promise<string[]>;
  },
): Promise<void> {
  const selection = await readSignedJson<{ hostId?: unknown; fraction?: unknown }>(
    req,
    res,
    options,
    { action: "berth:InterruptSpotCapacity" },
  );
  if (selection === undefined) return;
  const hostId = typeof selection.hostId === "string" ? selection.hostId : undefined;
  const fraction = typeof selection.fraction === "number" ? selection.fraction : undefined;
  if (
    (selection.hostId !== undefined && hostId === undefined) ||
    (selection.fraction !== undefined && (fraction === undefined || fraction < 0 || fraction > 1))
  ) {
    fail(
      res,
      new AwsError(
        "InvalidParameterException",
        "hostId is a string and fraction a number from 0 to 1.",
      ),
    );
    return;
  }
  const interrupted = await options.interrupt({
    ...(hostId === undefined ? {} : { hostId }),
    ...(fraction === undefined ? {} : { fraction }),
  });
  answerJson(res, { interrupted });
}
