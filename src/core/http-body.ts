/**
 * Reading an HTTP request body with a size limit, for every front door (AWS JSON, Kubernetes,
 * Berth's own routes).
 *
 * A body over the limit is refused, but only after what the client still sends has been read and
 * dropped (up to DRAIN_LIMIT): a server that answers and closes with unread bytes in the socket
 * makes the kernel reset the connection, and the reset can throw the answer away before the
 * client reads it, so the client sees ECONNRESET instead of 413. Past DRAIN_LIMIT the client is
 * not worth waiting for and gets the reset.
 */
import type { IncomingMessage } from "node:http";

/** How much of an over-limit body is read and dropped before the answer. */
export const DRAIN_LIMIT = 16 * 1024 * 1024;

export class BodyTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`request body over ${limit} bytes`);
    this.name = "BodyTooLarge";
  }
}

/**
 * The whole body, or a BodyTooLarge rejection once the body is known to exceed `limit` and the
 * rest has been drained (or at once past the drain limit: the answer must then close the connection).
 */
export function readBodyWithin(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"] ?? "0");
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = declared > limit;
    const refuse = (): void => reject(new BodyTooLarge(limit));
    // The caller answers with `Connection: close`; the server then closes the socket.
    if (declared > DRAIN_LIMIT) {
      refuse();
      return;
    }
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > DRAIN_LIMIT) {
        req.removeAllListeners("data");
        refuse();
        return;
      }
      if (size > limit) tooLarge = true;
      if (!tooLarge) chunks.push(chunk);
    });
    req.on("end", () => (tooLarge ? refuse() : resolve(Buffer.concat(chunks))));
    req.on("error", reject);
  });
}
