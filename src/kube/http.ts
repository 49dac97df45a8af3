/** Small HTTP helpers of the Kubernetes API: JSON answers, Status errors, bodies with a limit. */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { BodyTooLarge, readBodyWithin } from "../core/index.js";
import { decodeProtobufObject, PROTOBUF } from "./protobuf.js";
import { badRequest, KubeError, statusBody } from "./status.js";

/** The API server refuses request bodies over 3 MiB; so does Berth. */
export const MAX_BODY = 3 * 1024 * 1024;

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  contentType = "application/json",
): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "Content-Type": contentType,
    "Content-Length": Buffer.byteLength(text),
    "Cache-Control": "no-cache, private",
  });
  res.end(text);
}

export function sendStatus(res: ServerResponse, error: unknown): void {
  const { status, body } = statusBody(error);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, status, body);
}

/** Answers an upgrade request (exec) that is refused with its Status, and closes the socket. */
export function refuseUpgrade(socket: Duplex, error: unknown): void {
  const { status, body } = statusBody(error);
  const text = JSON.stringify(body);
  socket.end(
    `HTTP/1.1 ${status} Error\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
  );
}

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  try {
    return await readBodyWithin(req, MAX_BODY);
  } catch (error) {
    if (error instanceof BodyTooLarge)
      throw new KubeError("RequestEntityTooLarge", "request entity too large", 413);
    throw error;
  }
}

/** A JSON (or protobuf, by Content-Type) object body, or a BadRequest Status. */
export function parseObject(body: Buffer, contentType?: string): Record<string, unknown> {
  if ((contentType ?? "").split(";")[0]?.trim() === PROTOBUF) return decodeProtobufObject(body);
  let value: unknown;
  try {
    value = JSON.parse(body.toString("utf8"));
  } catch (error) {
    throw badRequest(
      `the body of the request was in an unknown format: ${(error as Error).message}`,
    );
  }
  if (value === null || typeof value !== "object" || Array.isArray(value))
    throw badRequest("the body of the request must be a JSON object");
  return value as Record<string, unknown>;
}
