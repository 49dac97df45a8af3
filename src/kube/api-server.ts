/**
 * The Kubernetes API of Berth's EKS clusters: `https://HOST:PORT/clusters/NAME/...`. Every request
 * but the public ones (`/version`, health) carries an `aws eks get-token` bearer token for that
 * cluster; then it goes to discovery, OpenAPI, or a resource's REST verbs. Failures are Status
 * objects; nothing escapes as a crash.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import type { Authorizer, CredentialLookup } from "../aws/index.js";
import type { Clock, Logger } from "../core/index.js";
import type { Store } from "../store/index.js";
import { authenticate, type KubeUser } from "./auth.js";
import { refuseUpgrade, sendJson, sendStatus } from "./http.js";
import { KubeListener } from "./listener.js";
import { KubeError, unknownPath } from "./status.js";
import { versionInfo } from "./version.js";

export const CLUSTER_PATH_PREFIX = "/clusters/";

export interface KubeRequest {
  req: IncomingMessage;
  res: ServerResponse;
  cluster: string;
  /** The path below the cluster's prefix, e.g. `/api/v1/namespaces/default/pods`. */
  path: string;
  query: URLSearchParams;
  user: KubeUser;
}

/** Serves one authenticated request below a cluster; true when it handled it. */
export type KubeRoute = (request: KubeRequest) => Promise<boolean>;
export type KubeUpgradeRoute = (
  request: Omit<KubeRequest, "res">,
  socket: Duplex,
  head: Buffer,
) => boolean;

export interface KubeApiServerOptions {
  store: Store;
  credentials: CredentialLookup;
  /** Decides whether an IAM principal other than root may use a cluster's API. */
  authorizer?: Authorizer;
  clock: Clock;
  log: Logger;
  dataDir: string;
  host: string;
  port: number;
}

const PUBLIC_PATHS = new Set(["/version", "/healthz", "/livez", "/readyz"]);

export class KubeApiServer {
  readonly #listener: KubeListener;
  readonly #routes: KubeRoute[] = [];
  readonly #upgrades: KubeUpgradeRoute[] = [];

  constructor(private readonly options: KubeApiServerOptions) {
    this.#listener = new KubeListener({
      dataDir: options.dataDir,
      host: options.host,
      port: options.port,
      log: options.log,
      onRequest: (req, res) => {
        this.#serve(req, res).catch((error: unknown) => {
          options.log.error("kubernetes request failed", { error: describe(error) });
          sendStatus(res, error);
        });
      },
      onUpgrade: (req, socket, head) => this.#upgrade(req, socket, head),
    });
  }

  /** Routes are tried in order after authentication. */
  use(route: KubeRoute): void {
    this.#routes.push(route);
  }

  useUpgrade(route: KubeUpgradeRoute): void {
    this.#upgrades.push(route);
  }

  endpoint(cluster: string): string {
    return `${this.#listener.origin}${CLUSTER_PATH_PREFIX}${cluster}`;
  }

  get certificateAuthorityData(): string {
    return this.#listener.certificateAuthorityData;
  }

  start(): Promise<void> {
    return this.#listener.start();
  }

  close(): Promise<void> {
    return this.#listener.close();
  }

  async #resolve(
    req: IncomingMessage,
  ): Promise<{ cluster: string; path: string; query: URLSearchParams; user?: KubeUser }> {
    const url = new URL(req.url ?? "/", "https://placeholder");
    if (!url.pathname.startsWith(CLUSTER_PATH_PREFIX)) throw unknownPath();
    const rest = url.pathname.slice(CLUSTER_PATH_PREFIX.length);
    const slash = rest.indexOf("/");
    const cluster = decodeURIComponent(slash < 0 ? rest : rest.slice(0, slash));
    const path = slash < 0 ? "/" : rest.slice(slash);
    const row = await this.options.store
      .selectFrom("eks_clusters")
      .select("name")
      .where("name", "=", cluster)
      .executeTakeFirst();
    // An unknown cluster answers as a bad token does: no endpoint is there to talk to.
    if (row === undefined) throw new KubeError("Unauthorized", "Unauthorized", 401);
    if (PUBLIC_PATHS.has(path)) return { cluster, path, query: url.searchParams };
    const user = await authenticate(
      req.headers.authorization,
      cluster,
      this.options.credentials,
      this.options.clock.now(),
      this.options.authorizer,
    );
    return { cluster, path, query: url.searchParams, user };
  }

  async #serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let resolved;
    try {
      resolved = await this.#resolve(req);
    } catch (error) {
      req.resume();
      sendStatus(res, error);
      return;
    }
    const { cluster, path, query, user } = resolved;
    if (path === "/version") {
      req.resume();
      sendJson(res, 200, versionInfo());
      return;
    }
    if (PUBLIC_PATHS.has(path)) {
      req.resume();
      res.writeHead(200, { "Content-Type": "text/plain" });
      res.end("ok");
      return;
    }
    const request: KubeRequest = { req, res, cluster, path, query, user: user as KubeUser };
    for (const route of this.#routes) {
      try {
        if (await route(request)) return;
      } catch (error) {
        if (!(error instanceof KubeError) || error.status >= 500)
          this.options.log.error("kubernetes request failed", { path, error: describe(error) });
        req.resume();
        sendStatus(res, error);
        return;
      }
    }
    req.resume();
    sendStatus(res, unknownPath());
  }

  #upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.#resolve(req)
      .then(({ cluster, path, query, user }) => {
        const request = { req, cluster, path, query, user: user as KubeUser };
        for (const route of this.#upgrades) if (route(request, socket, head)) return;
        refuseUpgrade(socket, unknownPath());
      })
      .catch((error: unknown) => refuseUpgrade(socket, error));
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}
