/**
 * A task's container output as server-sent events, read from its host over the agent channel
 * (the path `berth logs` and `kubectl logs` use) and followed until the task's output ends.
 */
import type { ServerResponse } from "node:http";
import { endWithSession, openEventStream, type SessionCheck } from "./events.js";
import { sendError } from "./http-basics.js";

export interface ConsoleLogLine {
  container: string;
  stream: "stdout" | "stderr";
  time: string;
  text: string;
}

export type OpenTaskLogs = (
  taskArn: string,
  request: { follow: boolean },
  onLines: (lines: ConsoleLogLine[], done: boolean, error?: string) => void,
  beforeStream: () => void,
) => Promise<(() => void) | undefined | "not-found">;

export async function serveTaskLogStream(
  res: ServerResponse,
  open: OpenTaskLogs,
  taskArn: string,
  live: SessionCheck,
): Promise<void> {
  const opened = await open(
    taskArn,
    { follow: true },
    (lines, done, error) => {
      if (res.writableEnded) return;
      if (lines.length > 0) res.write(`event: lines\ndata: ${JSON.stringify(lines)}\n\n`);
      if (done) {
        res.write(`event: end\ndata: ${JSON.stringify(error === undefined ? {} : { error })}\n\n`);
        res.end();
      }
    },
    () => openEventStream(res),
  );
  if (opened === "not-found") return sendError(res, 404, "TaskNotFound", "No such task.");
  if (opened === undefined) {
    res.write(
      `event: end\ndata: ${JSON.stringify({ error: "The task's host is not connected." })}\n\n`,
    );
    res.end();
    return;
  }
  endWithSession(res, live);
  res.on("close", opened);
}
