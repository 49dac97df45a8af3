/**
 * Moving one request to a target and its answer back: HTTP/1.1 with keep-alive to the target,
 * bodies streamed both ways, ALB's X-Forwarded-* headers, 502 when the target fails and 504 when
 * it does not answer in time; and WebSocket (any Upgrade) as a raw tunnel after the handshake.
 */
import {
  request,
  type Agent,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type ServerResponse,
} from "node:http";
import { connect, type Socket } from "node:net";

/** Hop-by-hop headers (RFC 9110 7.6.1): they describe one connection and are not forwarded. */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "te",
  "trailer",
  "upgrade",
  "proxy-authorization",
  "proxy-authenticate",
]);

export interface TargetAddress {
  host: string;
  port: number;
}

/** The request headers a target sees: end-to-end ones plus X-Forwarded-For/-Proto/-Port. */
export function forwardedHeaders(req: IncomingMessage, listenerPort: number): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = {};
  // Headers the Connection header names are hop-by-hop too.
  const named = req.headers.connection?.split(",").map((name) => name.trim().toLowerCase());
  for (const [name, value] of Object.entries(req.headers))
    if (!HOP_BY_HOP.has(name) && named?.includes(name) !== true && value !== undefined)
      headers[name] = value;
  const client = req.socket.remoteAddress?.replace(/^::ffff:/, "") ?? "";
  const prior = req.headers["x-forwarded-for"];
  headers["x-forwarded-for"] = prior === undefined ? client : `${String(prior)}, ${client}`;
  headers["x-forwarded-proto"] = "http";
  headers["x-forwarded-port"] = String(listenerPort);
  return headers;
}

function responseHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers))
    if (!HOP_BY_HOP.has(name) && value !== undefined) out[name] = value;
  return out;
}

/** A plain error page, as ALB answers 502, 503 and 504 itself. */
export function answer(res: ServerResponse, status: number, text: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = `<html>\r\n<head><title>${status} ${text}</title></head>\r\n<body>\r\n<center><h1>${status} ${text}</h1></center>\r\n</body>\r\n</html>\r\n`;
  res.writeHead(status, {
    "Content-Type": "text/html",
    "Content-Length": Buffer.byteLength(body),
    Server: "awselb/2.0",
  });
  res.end(body);
}

/** Errors that mean nothing took the connection: no byte of the request reached a target. */
const CONNECT_ERRORS = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH"]);

/**
 * Proxies one request; resolves when the exchange is over, whichever way it ended, saying
 * whether the target refused the connection (nothing listens there any more).
 */
export function forward(
  req: IncomingMessage,
  res: ServerResponse,
  target: TargetAddress,
  agent: Agent,
  headers: OutgoingHttpHeaders,
  timeoutMs: number,
  /** Told when the target's response begins. */
  onResponse: () => void = () => undefined,
): Promise<{ refused: boolean }> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (refused = false): void => {
      if (done) return;
      done = true;
      resolve({ refused });
    };
    const upstream = request({
      host: target.host,
      port: target.port,
      method: req.method,
      path: req.url,
      headers,
      agent,
    });
    upstream.setTimeout(timeoutMs, () => {
      upstream.destroy();
      answer(res, 504, "Gateway Time-out");
      finish();
    });
    upstream.on("response", (upstreamRes) => {
      onResponse();
      res.writeHead(upstreamRes.statusCode ?? 502, responseHeaders(upstreamRes.headers));
      upstreamRes.pipe(res);
      upstreamRes.on("end", finish);
      upstreamRes.on("error", () => {
        res.destroy();
        finish();
      });
    });
    upstream.on("error", (error: NodeJS.ErrnoException) => {
      answer(res, 502, "Bad Gateway");
      finish(CONNECT_ERRORS.has(error.code ?? ""));
    });
    // The client went away: the target's exchange is abandoned too.
    res.on("close", () => {
      if (!res.writableFinished) upstream.destroy();
      finish();
    });
    // A request without a body (no Content-Length, no Transfer-Encoding) goes out as one
    // write; piping it would send it chunked, with an empty last chunk as a second write.
    const hasBody =
      req.headers["transfer-encoding"] !== undefined ||
      (req.headers["content-length"] !== undefined && req.headers["content-length"] !== "0");
    if (hasBody) req.pipe(upstream);
    else {
      req.resume();
      upstream.end();
    }
  });
}

/**
 * An Upgrade request (WebSocket): the handshake goes to the target as received (plus the
 * X-Forwarded-* headers), then bytes flow both ways untouched. Resolves when either side closes.
 */
export function tunnel(
  req: IncomingMessage,
  client: Socket,
  head: Buffer,
  target: TargetAddress,
  listenerPort: number,
  /**
   * Told, in seconds, how long the target took from the handshake being sent until the first
   * byte of its answer (a 101, or a refusal such as 400 or 426): its response headers begin.
   */
  onResponse: (seconds: number) => void = () => undefined,
): Promise<void> {
  return new Promise((resolve) => {
    const upstream = connect(target.port, target.host);
    const close = (): void => {
      client.destroy();
      upstream.destroy();
      resolve();
    };
    upstream.on("connect", () => {
      const headers = forwardedHeaders(req, listenerPort);
      let handshake = `${req.method ?? "GET"} ${req.url ?? "/"} HTTP/1.1\r\n`;
      for (const [name, value] of Object.entries(headers))
        for (const item of Array.isArray(value) ? value : [value])
          handshake += `${name}: ${String(item)}\r\n`;
      handshake += `connection: Upgrade\r\nupgrade: ${req.headers.upgrade ?? ""}\r\n\r\n`;
      upstream.write(handshake);
      const sent = performance.now();
      if (head.length > 0) upstream.write(head);
      // Beside the pipe, which reads the same chunks: the status line begins the first one, and
      // this listener, added first, runs before the pipe passes that chunk to the client.
      upstream.once("data", () => onResponse((performance.now() - sent) / 1000));
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on("error", () => {
      if (client.writable)
        client.end("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
      close();
    });
    upstream.on("close", close);
    client.on("error", close);
    client.on("close", close);
  });
}
