/**
 * Berth's API as a task sees it (`AWS_ENDPOINT_URL=http://<gateway>:<api port>`): the agent
 * passes each request on, unchanged (headers, Host included, so the SigV4 signature the task's
 * SDK made still verifies), to the server its channel is on, and the answer back. A task needs
 * this because Berth's listener is usually on loopback (`berth up --host 127.0.0.1`) or on
 * another machine behind TLS with Berth's own CA, neither of which it can use directly, and
 * because the host guard lets tasks reach nothing of the host but the agent's ports.
 *
 * Why this hole is safe: every route the proxy passes authenticates each request itself
 * (SigV4, checked against IAM), so a task can do only what the credentials it holds allow,
 * exactly as a task on AWS reaches the public AWS endpoints. What does not authenticate
 * requests that way is not passed: the agent channel (`/_berth/agent`, and any upgrade), and
 * the console, whose sign-in throttle is per address and would see every task as the agent.
 */
import { request as httpRequest, type IncomingMessage, type ServerResponse } from "node:http";
import { request as httpsRequest } from "node:https";
import { AGENT_CHANNEL_PATH } from "../../protocol/index.js";

export interface ApiTarget {
  /** The server's origin (`http(s)://host:port`), the one the channel is on now. */
  origin: string;
  /** PEM of the CA an https:// server's certificate chains to. */
  caPem?: string;
}

const REFUSED_PREFIXES = [AGENT_CHANNEL_PATH, "/console"];

/** Headers that belong to one hop only (RFC 9110 7.6.1), not passed on. */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "te",
  "trailer",
]);

export function passToApi(
  request: IncomingMessage,
  response: ServerResponse,
  target: ApiTarget,
): void {
  const path = request.url ?? "/";
  if (!path.startsWith("/") || REFUSED_PREFIXES.some((p) => path.startsWith(p))) {
    response.writeHead(403, { "content-type": "text/plain" });
    response.end("not reachable from a task\n");
    return;
  }
  const url = new URL(target.origin);
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(request.headers))
    if (value !== undefined && !HOP_BY_HOP.has(name)) headers[name] = value;
  const options = {
    method: request.method ?? "GET",
    hostname: url.hostname,
    port: url.port,
    path,
    headers,
  };
  const upstream =
    url.protocol === "https:"
      ? httpsRequest({
          ...options,
          ...(target.caPem === undefined ? {} : { ca: target.caPem }),
          // The pinned CA is the server's own (as for the agent channel, see channel.ts).
          checkServerIdentity: () => undefined,
        })
      : httpRequest(options);
  upstream.on("response", (answer) => {
    const back: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(answer.headers))
      if (value !== undefined && !HOP_BY_HOP.has(name)) back[name] = value;
    response.writeHead(answer.statusCode ?? 502, back);
    answer.pipe(response);
    answer.on("error", () => response.destroy());
  });
  upstream.on("error", () => {
    if (response.headersSent) return void response.destroy();
    response.writeHead(502, { "content-type": "text/plain" });
    response.end("Berth's API is not reachable from this host now\n");
  });
  request.pipe(upstream);
  request.on("error", () => upstream.destroy());
  response.on("close", () => {
    if (!response.writableFinished) upstream.destroy();
  });
}
