/**
 * `/console`: the web console's pages, bundle and API on the server's one port. Every page but
 * sign-in, every API call and every stream needs a live session; every state change also needs
 * the session's CSRF token in a header (which another site cannot set) and, when the browser
 * names one, the console's own Origin. AWS actions run through the same gateway as signed
 * calls (`AwsJsonGateway.invoke`), as the session's access key.
 */
import { readFile } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import type { AwsJsonGateway, AwsQueryGateway } from "../aws/index.js";
import {
  arn,
  parseArn,
  BodyTooLarge,
  readBodyWithin,
  type Clock,
  type Identity,
  type Logger,
} from "../core/index.js";
import type { Store } from "../store/index.js";
import { serveChanges, type ConsoleChanges } from "./events.js";
import {
  CONSOLE_PATH,
  readCookie,
  sameOrigin,
  SECURITY_HEADERS,
  sendError,
  sendJson,
  SESSION_COOKIE,
  sessionCookie,
} from "./http-basics.js";
import { serveTaskLogStream, type OpenTaskLogs } from "./log-stream.js";
import type { ConsoleSessions, Session } from "./sessions.js";
import { HISTORY_MS, type MetricsHistory } from "./metrics-history.js";
import { SignInThrottle } from "./sign-in-throttle.js";
import { hostRows, parseTaskFilter, taskPage } from "./task-table.js";

/**
 * The authorization hook: whether a signed-in key may perform an action (IAM's names, e.g.
 * `ecs:ListTasks`) on a resource, with the request's condition keys. AWS actions also pass the
 * gateway's own checks; this one guards what the console reads from the store itself (the
 * server gives its IAM policies: a user sees only what its policies let it read).
 */
export type ConsoleAuthorizer = (
  accessKeyId: string,
  action: string,
  resource: string,
  context?: Record<string, string[]>,
) => Promise<boolean>;

/** Amounts in USD as "12.34", each rounded once from the exact sums. */
export interface ConsoleSavings {
  spot: { cost: string; onDemand: string; saved: string };
  savingsPlans: { commitment: string; onDemand: string; saved: string };
}

export interface ConsoleOptions {
  store: Store;
  sessions: ConsoleSessions;
  gateway: Pick<AwsJsonGateway, "invoke" | "services">;
  /** The Query services (ELB), answered as JSON to the console. */
  queryGateway?: Pick<AwsQueryGateway, "invoke" | "services">;
  changes: ConsoleChanges;
  openLogs: OpenTaskLogs;
  /** Each metric period's datapoints, for the charts. */
  metrics?: MetricsHistory;
  /** What Spot and Savings Plans saved over [from, to), in USD rounded to cents. */
  savings?: (from: Date, to: Date) => Promise<ConsoleSavings>;
  clock: Clock;
  log: Logger;
  /** The account and region: the ARNs the authorizer is asked about. */
  identity: Identity;
  authorize: ConsoleAuthorizer;
}

const ASSETS_DIR = fileURLToPath(new URL("../../dist/console-assets/", import.meta.url));
const ASSET_TYPES: Record<string, string> = {
  "app.js": "text/javascript; charset=utf-8",
  "app.js.map": "application/json",
  "app.css": "text/css; charset=utf-8",
};
const MAX_API_BODY = 256 * 1024;

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Berth console</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${CONSOLE_PATH}/assets/app.css">
<script type="module" src="${CONSOLE_PATH}/assets/app.js"></script>
</head>
<body><div id="app"></div><noscript>The Berth console needs JavaScript.</noscript></body>
</html>
`;

export class ConsoleRoutes {
  readonly #throttle: SignInThrottle;

  constructor(private readonly options: ConsoleOptions) {
    this.#throttle = new SignInThrottle(() => options.clock.now().getTime());
  }

  owns(path: string): boolean {
    return path === CONSOLE_PATH || path.startsWith(`${CONSOLE_PATH}/`);
  }

  /** Serves one request under /console; nothing it is sent escapes as a throw. */
  async handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    try {
      await this.#route(req, res, path);
    } catch (error) {
      this.options.log.error("console request failed", {
        path,
        error: error instanceof Error ? (error.stack ?? error.message) : String(error),
      });
      if (!res.headersSent) sendError(res, 500, "ServerError", "The console failed to answer.");
      else res.destroy();
    }
  }

  async #route(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const method = req.method ?? "GET";
    if (path.startsWith(`${CONSOLE_PATH}/assets/`) && (method === "GET" || method === "HEAD"))
      return this.#asset(res, path.slice(`${CONSOLE_PATH}/assets/`.length));
    if (path === `${CONSOLE_PATH}/api/session`) return this.#sessionRoute(req, res, method);
    if (path.startsWith(`${CONSOLE_PATH}/api/`)) return this.#api(req, res, path, method);
    if (method !== "GET" && method !== "HEAD") {
      req.resume();
      return sendError(res, 405, "MethodNotAllowed", "Pages are read with GET.");
    }
    if (path === `${CONSOLE_PATH}/signin`) return this.#page(res);
    // A page without a session goes to sign-in and comes back after.
    const session = await this.#session(req);
    if (session === undefined) {
      const next = encodeURIComponent((req.url ?? CONSOLE_PATH).slice(0, 2000));
      res.writeHead(303, {
        ...SECURITY_HEADERS,
        Location: `${CONSOLE_PATH}/signin?next=${next}`,
        "Cache-Control": "no-store",
        "Content-Length": 0,
      });
      res.end();
      return;
    }
    return this.#page(res);
  }

  #page(res: ServerResponse): void {
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      "Content-Type": "text/html; charset=utf-8",
      "Cache-Control": "no-store",
      "Content-Length": Buffer.byteLength(PAGE),
    });
    res.end(PAGE);
  }

  async #asset(res: ServerResponse, name: string): Promise<void> {
    const type = Object.hasOwn(ASSET_TYPES, name) ? ASSET_TYPES[name] : undefined;
    if (type === undefined) return sendError(res, 404, "NotFound", "No such file.");
    let body: Buffer;
    try {
      body = await readFile(join(ASSETS_DIR, name));
    } catch {
      return sendError(
        res,
        503,
        "ConsoleNotBuilt",
        "The console bundle is missing: run npm run build.",
      );
    }
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      "Content-Type": type,
      "Cache-Control": "no-cache",
      "Content-Length": body.length,
    });
    res.end(body);
  }

  async #session(req: IncomingMessage): Promise<Session | undefined> {
    return this.options.sessions.find(readCookie(req, SESSION_COOKIE));
  }

  /** For a stream: whether the session it was opened with still stands. */
  #stillLive(req: IncomingMessage): () => Promise<boolean> {
    const token = readCookie(req, SESSION_COOKIE);
    return async () => (await this.options.sessions.find(token)) !== undefined;
  }

  /** A state change must come from the console: its origin, and the session's CSRF token. */
  #csrfOk(req: IncomingMessage, session: Session | undefined): boolean {
    if (!sameOrigin(req)) return false;
    if (session === undefined) return true;
    return req.headers["x-berth-csrf"] === session.csrfToken;
  }

  async #readJson(req: IncomingMessage, res: ServerResponse): Promise<Buffer | undefined> {
    // Only a script can send JSON cross-site, and then the browser asks first (CORS).
    if (!(req.headers["content-type"] ?? "").startsWith("application/json")) {
      req.resume();
      sendError(res, 415, "UnsupportedMediaType", "Send application/json.");
      return undefined;
    }
    try {
      return await readBodyWithin(req, MAX_API_BODY);
    } catch (error) {
      if (!(error instanceof BodyTooLarge)) throw error;
      sendError(res, 413, "RequestEntityTooLarge", `At most ${MAX_API_BODY} bytes.`);
      return undefined;
    }
  }

  async #sessionRoute(req: IncomingMessage, res: ServerResponse, method: string): Promise<void> {
    const session = await this.#session(req);
    if (method === "GET") {
      req.resume();
      if (session === undefined) return sendError(res, 401, "NoSession", "Sign in first.");
      return sendJson(res, 200, {
        accessKeyId: session.accessKeyId,
        csrfToken: session.csrfToken,
        expiresAt: session.expiresAt,
      });
    }
    if (method === "POST") {
      if (!sameOrigin(req)) {
        req.resume();
        return sendError(res, 403, "CrossOrigin", "Sign in from the console's own page.");
      }
      const body = await this.#readJson(req, res);
      if (body === undefined) return;
      let input: { accessKeyId?: unknown; secretAccessKey?: unknown; linkToken?: unknown };
      try {
        input = JSON.parse(body.toString("utf8")) as typeof input;
      } catch {
        return sendError(res, 400, "BadRequest", "The body is not JSON.");
      }
      const link = typeof input?.linkToken === "string" ? input.linkToken : undefined;
      if (
        link === undefined &&
        (typeof input?.accessKeyId !== "string" || typeof input.secretAccessKey !== "string")
      )
        return sendError(
          res,
          400,
          "BadRequest",
          "accessKeyId and secretAccessKey are strings, or linkToken is.",
        );
      const address = req.socket.remoteAddress ?? "";
      const wait = this.#throttle.retryAfter(address);
      if (wait > 0)
        return sendError(
          res,
          429,
          "TooManySignInAttempts",
          `Too many wrong secrets from this address: try again in ${Math.ceil(wait / 1000)} s.`,
          { "Retry-After": String(Math.ceil(wait / 1000)) },
        );
      const signed =
        link !== undefined
          ? await this.options.sessions.redeemLink(link)
          : await this.options.sessions.signIn(
              String(input.accessKeyId),
              String(input.secretAccessKey),
            );
      if (signed === undefined) this.#throttle.failed(address);
      else this.#throttle.succeeded(address);
      if (signed === undefined && link !== undefined) {
        this.options.log.warn("console sign-in link refused", {});
        return sendError(
          res,
          401,
          "SignInLinkInvalid",
          "This sign-in link was used already or has expired: run berth console for a new one.",
        );
      }
      if (signed === undefined) {
        this.options.log.warn("console sign-in refused", {
          accessKeyId: String(input.accessKeyId).slice(0, 128),
        });
        return sendError(res, 401, "SignInFailed", "The access key or the secret is wrong.");
      }
      const maxAge = Math.floor(
        (signed.session.expiresAt - this.options.clock.now().getTime()) / 1000,
      );
      return sendJson(
        res,
        200,
        {
          accessKeyId: signed.session.accessKeyId,
          csrfToken: signed.session.csrfToken,
          expiresAt: signed.session.expiresAt,
        },
        { "Set-Cookie": sessionCookie(req, signed.token, maxAge) },
      );
    }
    if (method === "DELETE") {
      req.resume();
      if (session === undefined) return sendError(res, 401, "NoSession", "Sign in first.");
      if (!this.#csrfOk(req, session))
        return sendError(res, 403, "CsrfRefused", "The request did not come from the console.");
      await this.options.sessions.signOut(readCookie(req, SESSION_COOKIE) ?? "");
      return sendJson(res, 200, {}, { "Set-Cookie": sessionCookie(req, "", 0) });
    }
    req.resume();
    return sendError(res, 405, "MethodNotAllowed", "GET, POST or DELETE.");
  }

  /** The `ecs:cluster` condition key of a request about cluster `name`, as ECS gives it. */
  #inCluster(name: string): Record<string, string[]> {
    return { "ecs:cluster": [arn(this.options.identity, "ecs", `cluster/${name}`)] };
  }

  async #authorized(
    res: ServerResponse,
    session: Session,
    action: string,
    resource: string,
    context?: Record<string, string[]>,
  ): Promise<boolean> {
    const allowed = await this.options.authorize(session.accessKeyId, action, resource, context);
    if (!allowed)
      sendError(
        res,
        403,
        "AccessDeniedException",
        `Not authorized to perform ${action} on ${resource}.`,
      );
    return allowed;
  }

  async #api(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    method: string,
  ): Promise<void> {
    const session = await this.#session(req);
    if (session === undefined) {
      req.resume();
      return sendError(res, 401, "NoSession", "Sign in first.");
    }
    const url = new URL(req.url ?? "/", "http://console");
    const route = path.slice(`${CONSOLE_PATH}/api/`.length);
    if ((route.startsWith("aws/") || route.startsWith("query/")) && method === "POST") {
      if (!this.#csrfOk(req, session)) {
        req.resume();
        return sendError(res, 403, "CsrfRefused", "The request did not come from the console.");
      }
      const body = await this.#readJson(req, res);
      if (body === undefined) return;
      let answer: { status: number; headers: Record<string, string>; body: string };
      let actionName: string;
      if (route.startsWith("aws/")) {
        const target = route.slice("aws/".length);
        const prefix = target.split(".", 1)[0];
        const service = this.options.gateway.services.find((s) => s.targetPrefix === prefix);
        actionName = target.slice((prefix ?? "").length + 1);
        const action = `${service?.signingName ?? "unknown"}:${actionName}`;
        if (!(await this.#authorized(res, session, action, "*"))) return;
        answer = await this.options.gateway.invoke(session.accessKeyId, target, body);
      } else {
        // query/<signing name>/<Action>, e.g. query/elasticloadbalancing/DescribeTargetHealth.
        const [signingName = "", name = ""] = route.slice("query/".length).split("/", 2);
        actionName = name;
        const gateway = this.options.queryGateway;
        if (gateway === undefined) return sendError(res, 404, "NotFound", "No Query services.");
        if (!(await this.#authorized(res, session, `${signingName}:${name}`, "*"))) return;
        answer = await gateway.invoke(session.accessKeyId, signingName, name, body);
      }
      if (answer.status === 200 && !/^(Describe|List|Get|BatchGet)/.test(actionName))
        this.options.changes.publish({ kind: "service" });
      res.writeHead(answer.status, {
        ...answer.headers,
        ...SECURITY_HEADERS,
        "Cache-Control": "no-store",
        "Content-Length": Buffer.byteLength(answer.body),
      });
      res.end(answer.body);
      return;
    }
    req.resume();
    if (method !== "GET") return sendError(res, 405, "MethodNotAllowed", "Read with GET.");
    if (route === "tasks") {
      const filter = parseTaskFilter(url.searchParams);
      // As ECS's own ListTasks is authorized: every resource, the cluster as `ecs:cluster`.
      const context = this.#inCluster(filter.cluster);
      if (!(await this.#authorized(res, session, "ecs:ListTasks", "*", context))) return;
      return sendJson(res, 200, await taskPage(this.options.store, filter));
    }
    if (route === "hosts") {
      if (!(await this.#authorized(res, session, "ecs:ListContainerInstances", "*"))) return;
      return sendJson(res, 200, { hosts: await hostRows(this.options.store) });
    }
    if (route === "metrics") {
      const taskArn = url.searchParams.get("task");
      const targetGroupArn = url.searchParams.get("targetGroup");
      const cluster = url.searchParams.get("cluster") ?? "default";
      const service = url.searchParams.get("service") ?? "";
      const resource = taskArn ?? targetGroupArn ?? `${cluster}/${service}`;
      if (!(await this.#authorized(res, session, "cloudwatch:GetMetricData", resource))) return;
      const minutes = Math.min(
        Math.max(Number(url.searchParams.get("minutes")) || 60, 1),
        HISTORY_MS / 60_000,
      );
      const since = this.options.clock.now().getTime() - minutes * 60_000;
      const of =
        taskArn !== null
          ? { taskArn }
          : targetGroupArn !== null
            ? { targetGroupArn }
            : { cluster, service };
      return sendJson(
        res,
        200,
        (await this.options.metrics?.points(of, since)) ?? { periodMs: 60_000, points: [] },
      );
    }
    if (route === "savings") {
      if (!(await this.#authorized(res, session, "ce:GetCostAndUsage", "*"))) return;
      const day = /^\d{4}-\d\d-\d\d$/;
      const since = url.searchParams.get("since") ?? "";
      const until = url.searchParams.get("until") ?? "";
      const from = new Date(`${since}T00:00:00Z`);
      const to = new Date(`${until}T00:00:00Z`);
      if (!day.test(since) || !day.test(until) || !(from < to) || Number.isNaN(to.getTime()))
        return sendError(res, 400, "ValidationException", "since and until are days, since first.");
      if (this.options.savings === undefined) return sendError(res, 404, "NotFound", "No billing.");
      return sendJson(res, 200, await this.options.savings(from, to));
    }
    if (route === "events") {
      serveChanges(res, this.options.changes, this.#stillLive(req));
      return;
    }
    if (route === "logs") {
      const taskArn = url.searchParams.get("task") ?? "";
      // A task's ARN names its cluster (task/CLUSTER/ID), its `ecs:cluster` as ECS's own.
      const [kind, cluster] = parseArn(taskArn)?.resource.split("/") ?? [];
      const context = kind === "task" && cluster ? this.#inCluster(cluster) : undefined;
      if (!(await this.#authorized(res, session, "ecs:DescribeTasks", taskArn, context))) return;
      return serveTaskLogStream(res, this.options.openLogs, taskArn, this.#stillLive(req));
    }
    return sendError(res, 404, "NotFound", "No such console API.");
  }
}
