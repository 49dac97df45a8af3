/**
 * The one HTTP listener: routes to the AWS front door (POST / with X-Amz-Target for JSON 1.1,
 * form-encoded POST / for Query, the REST-JSON services' URI templates), the registry (/v2/),
 * Berth's own signed routes (/_berth/), health and metrics. Bodies are read with a hard size
 * limit; every AWS-shaped error goes through the one renderer (`fail`). Nothing a client sends
 * can throw out of here.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import {
  BodyTooLarge,
  DRAIN_LIMIT,
  defaultConnectionLimits,
  readBodyWithin,
  type ConnectionLimits,
  type Logger,
} from "../core/index.js";
import {
  AwsError,
  FORM_CONTENT_TYPE,
  type AwsJsonGateway,
  type AwsQueryGateway,
  type AwsRestJsonGateway,
  type Precheck,
  type SignedRequest,
  type UnreadRequest,
} from "../aws/index.js";
import { METRICS_PATH } from "./metrics-route.js";
import { fail } from "./task-routes.js";

/** AWS JSON APIs take at most a few MiB (PutLogEvents: 1 MiB); anything larger is refused. */
export const MAX_JSON_BODY = 2 * 1024 * 1024;

/**
 * Most bytes of request bodies whose signature could not be checked before the body (a client
 * that did not sign `x-amz-content-sha256`, as the AWS CLI) buffered at once; past it such a
 * request is throttled, so a flood from one known access key id cannot grow the server.
 */
export const PREAUTH_BODY_BUDGET = 32 * 1024 * 1024;

/** Bytes of unverified bodies being read now, per listener. */
interface BodyBudget {
  used: number;
  readonly limit: number;
}

export interface RouterOptions {
  gateway: AwsJsonGateway;
  /** AWS Query services (ELBv2): form-encoded POST / without X-Amz-Target. */
  queryGateway?: AwsQueryGateway;
  /** AWS REST-JSON services (EKS): the paths their models' URI templates name. */
  restGateway?: AwsRestJsonGateway;
  log: Logger;
  isReady: () => boolean;
  /** Whether the store answers a query: health is 503 when it does not. */
  storeAnswers?: () => Promise<boolean>;
  /** The OCI registry: every path under /v2, with the request body still unread (it streams). */
  registry?: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
  /** Berth's own endpoints under /_berth/ beyond health (task logs, ...); true when handled. */
  berthRoutes?: (req: IncomingMessage, res: ServerResponse, path: string) => Promise<boolean>;
  /** `GET /metrics` in Prometheus's text format. */
  metrics?: (res: ServerResponse) => void;
  /** The web console under /console (pages, bundle, its API and streams). */
  console?: {
    owns(path: string): boolean;
    handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<void>;
  };
}

function send(
  res: ServerResponse,
  status: number,
  headers: Record<string, string>,
  body: string,
): void {
  if (res.headersSent) return;
  res.writeHead(status, { ...headers, "Content-Length": Buffer.byteLength(body) });
  res.end(body);
}

/** An AWS API request's body, or undefined once a too-large one has been answered. */
async function readAwsBody(req: IncomingMessage, res: ServerResponse): Promise<Buffer | undefined> {
  try {
    return await readBodyWithin(req, MAX_JSON_BODY);
  } catch (error) {
    if (!(error instanceof BodyTooLarge)) throw error;
    // AWS's front ends cut such requests off with 413 as well; the shape is the JSON error one.
    fail(
      res,
      new AwsError(
        "RequestEntityTooLargeException",
        `Request body must be at most ${MAX_JSON_BODY} bytes.`,
      ),
      true,
    );
    return undefined;
  }
}

/**
 * Answers a request refused from its headers alone, before any of its body is read (issue 12,
 * item 5). A body of known, drainable size is then discarded by Node (nothing is buffered) so
 * the connection lives on; a larger or unsized one closes the connection.
 */
function refuseUnread(
  req: IncomingMessage,
  res: ServerResponse,
  answer: { status: number; headers: Record<string, string>; body: string },
): void {
  const declared = req.headers["content-length"];
  const close =
    declared === undefined
      ? req.headers["transfer-encoding"] !== undefined
      : !(Number(declared) <= DRAIN_LIMIT);
  send(
    res,
    answer.status,
    close ? { ...answer.headers, Connection: "close" } : answer.headers,
    answer.body,
  );
}

/**
 * The signed request with its body, read only after the gateway's precheck accepted its
 * headers; undefined once the request has been answered (refused, throttled, too large).
 */
async function readSignedRequest(
  req: IncomingMessage,
  res: ServerResponse,
  gateway: { precheck(request: UnreadRequest): Promise<Precheck> },
  budget: BodyBudget,
): Promise<SignedRequest | undefined> {
  const unread = { method: req.method ?? "GET", url: req.url ?? "/", headers: req.headers };
  const check = await gateway.precheck(unread);
  if ("refused" in check) {
    refuseUnread(req, res, check.refused);
    return undefined;
  }
  let reserved = 0;
  if (check.verified === "headers") {
    const declared = Number(req.headers["content-length"] ?? Number.NaN);
    reserved = Number.isFinite(declared) ? Math.min(declared, MAX_JSON_BODY) : MAX_JSON_BODY;
    if (budget.used + reserved > budget.limit) {
      // AWS throttles a caller's flood the same way (400 ThrottlingException, "Rate exceeded").
      const error = new AwsError("ThrottlingException");
      refuseUnread(req, res, {
        status: error.status,
        headers: { "Content-Type": "application/x-amz-json-1.1" },
        body: JSON.stringify({ __type: error.code, message: error.message }),
      });
      return undefined;
    }
    budget.used += reserved;
  }
  try {
    const body = await readAwsBody(req, res);
    return body === undefined ? undefined : { ...unread, body };
  } finally {
    budget.used -= reserved;
  }
}

async function route(
  req: IncomingMessage,
  res: ServerResponse,
  options: RouterOptions,
  budget: BodyBudget,
): Promise<void> {
  const path = (req.url ?? "/").split("?", 1)[0] ?? "/";
  if (
    path.startsWith("/_berth/") &&
    options.berthRoutes !== undefined &&
    (await options.berthRoutes(req, res, path))
  )
    return;
  if (path === METRICS_PATH && req.method === "GET" && options.metrics !== undefined) {
    options.metrics(res);
    return;
  }
  if (path === "/_berth/health" && (req.method === "GET" || req.method === "HEAD")) {
    const status = !options.isReady()
      ? "starting"
      : (await (options.storeAnswers?.() ?? Promise.resolve(true)))
        ? "ok"
        : "store-unavailable";
    send(
      res,
      status === "ok" ? 200 : 503,
      { "Content-Type": "application/json" },
      JSON.stringify({ status }),
    );
    return;
  }
  if (options.console?.owns(path) === true) {
    await options.console.handle(req, res, path);
    return;
  }
  if (options.registry !== undefined && (path === "/v2" || path?.startsWith("/v2/") === true)) {
    await options.registry(req, res);
    return;
  }
  if (options.restGateway?.owns(path) === true) {
    const signed = await readSignedRequest(req, res, options.restGateway, budget);
    if (signed === undefined) return;
    const answer = await options.restGateway.handle(signed);
    send(res, answer.status, answer.headers, answer.body);
    return;
  }
  const query =
    options.queryGateway !== undefined &&
    req.headers["x-amz-target"] === undefined &&
    (req.headers["content-type"] ?? "").startsWith(FORM_CONTENT_TYPE);
  if (
    path === "/" &&
    req.method === "POST" &&
    (query || req.headers["x-amz-target"] !== undefined)
  ) {
    const gateway =
      query && options.queryGateway !== undefined ? options.queryGateway : options.gateway;
    const signed = await readSignedRequest(req, res, gateway, budget);
    if (signed === undefined) return;
    const answer = await gateway.handle(signed);
    send(res, answer.status, answer.headers, answer.body);
    return;
  }
  if (path === "/" && req.method === "POST") {
    req.resume();
    // No X-Amz-Target: AWS answers UnknownOperationException.
    fail(res, new AwsError("UnknownOperationException", ""));
    return;
  }
  req.resume();
  send(res, 404, { "Content-Type": "application/json" }, JSON.stringify({ message: "Not Found" }));
}

export { limitConnections } from "../core/index.js";

/** The API front's limits: sized from the open files limit in force when it starts. */
export function apiConnectionLimits(): ConnectionLimits {
  return defaultConnectionLimits();
}

/** The HTTP side of the listener; `listenBerth` feeds it plain and TLS connections. */
export function createBerthServer(options: RouterOptions): Server {
  const budget: BodyBudget = { used: 0, limit: PREAUTH_BODY_BUDGET };
  const server = createServer({ connectionsCheckingInterval: 2_000 }, (req, res) => {
    route(req, res, options, budget).catch((error: unknown) => {
      options.log.error("unhandled request failure", {
        error: error instanceof Error ? error.stack : String(error),
      });
      fail(res, error, true);
    });
  });
  server.headersTimeout = apiConnectionLimits().headersMs;
  server.on("clientError", (_error, socket) => {
    if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
    else socket.destroy();
  });
  return server;
}
