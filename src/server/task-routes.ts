/**
 * `GET /_berth/tasks/logs?task=ARN[&container=NAME][&follow=1]`: a task's container logs as
 * newline-delimited JSON, fetched from the task's host over the agent channel. SigV4-signed
 * like any API call (service `ecs`). The last line is `{"done":true}` (with `error` if any).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { AwsError, renderError, verifySigV4, type CredentialLookup } from "../aws/index.js";
import type { Clock } from "../core/index.js";
import type { AgentChannelServer } from "../control/index.js";
import type { Store } from "../store/index.js";

export const TASK_LOGS_PATH = "/_berth/tasks/logs";

export interface TaskLogsRouteOptions {
  store: Store;
  channel: AgentChannelServer;
  credentials: CredentialLookup;
  clock: Clock;
}

function fail(res: ServerResponse, error: unknown): void {
  const rendered = renderError(error);
  res.writeHead(rendered.status, {
    "Content-Type": "application/json",
    "x-amzn-ErrorType": rendered.type,
  });
  res.end(rendered.body);
}

export async function serveTaskLogs(
  req: IncomingMessage,
  res: ServerResponse,
  options: TaskLogsRouteOptions,
): Promise<void> {
  try {
    await verifySigV4(
      {
        method: req.method ?? "GET",
        url: req.url ?? "/",
        headers: req.headers,
        body: Buffer.alloc(0),
      },
      options.credentials,
      options.clock.now(),
      "ecs",
    );
  } catch (error) {
    fail(res, error);
    return;
  }
  const url = new URL(req.url ?? "/", "http://berth");
  const taskArn = url.searchParams.get("task") ?? "";
  const container = url.searchParams.get("container") ?? undefined;
  const follow = url.searchParams.get("follow") === "1";
  const row = await options.store
    .selectFrom("tasks")
    .select(["host_id", "last_status"])
    .where("arn", "=", taskArn)
    .executeTakeFirst();
  if (row === undefined) {
    fail(res, new AwsError("InvalidParameterException", "The referenced task was not found."));
    return;
  }
  res.writeHead(200, { "Content-Type": "application/x-ndjson", "Cache-Control": "no-store" });
  const cancel =
    row.host_id === null
      ? undefined
      : options.channel.streamLogs(
          row.host_id,
          { taskArn, ...(container === undefined ? {} : { container }), follow },
          (lines, done, error) => {
            if (res.writableEnded) return;
            const text = lines.map((line) => JSON.stringify(line)).join("\n");
            if (text !== "") res.write(text + "\n");
            if (done)
              res.end(
                JSON.stringify({ done: true, ...(error === undefined ? {} : { error }) }) + "\n",
              );
          },
        );
  if (cancel === undefined) {
    res.end(JSON.stringify({ done: true, error: "The task's host is not connected." }) + "\n");
    return;
  }
  res.on("close", cancel);
}
