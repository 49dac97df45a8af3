/**
 * The task metadata endpoint (v4 and v3), served by the agent on each cluster bridge's gateway
 * address: a task reaches it on its own network, at `http://<gateway>:<port>/v4/<token>` with
 * the token naming one container (`<taskId>-<index>`). A request is answered only when it comes
 * from that task's own address, so no task reads another's metadata (and neither does the
 * host). The port is chosen once per agent and kept in its data dir, so the URIs given to
 * running containers stay valid across an agent restart.
 *
 * Fargate serves it at 169.254.170.2, one address for every task; here the agent and the
 * several Berths a machine may run each need their own, so it is the gateway's. 169.254.170.2
 * port 80 reaches it too (the host guard's DNAT, per bridge), because the AWS SDKs take task
 * role credentials (`/v2/credentials/<id>`, `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`) only from
 * there. On a second port of each gateway the agent passes requests on to Berth's API
 * (`api-proxy.ts`, the task's `AWS_ENDPOINT_URL`).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import {
  connectionBudget,
  defaultConnectionLimits,
  limitConnections,
  type ConnectionLimits,
  type Logger,
} from "../../core/index.js";
import type { ContainerAssignment } from "../../protocol/index.js";
import type { ContainerRuntime } from "../runtime/index.js";
import type { MetadataEndpoint } from "../tasks/ports.js";
import type { TaskRecord } from "../tasks/task-run.js";
import { containerId } from "../tasks/container-spec.js";
import {
  containerDocument,
  taskDocument,
  type ContainerFacts,
  type TaskFacts,
} from "./documents.js";
import { passToApi, type ApiTarget } from "./api-proxy.js";
import { CredentialsRefused, type TaskRoleCredentialCache } from "./credentials.js";
import { apiProxyPort, metadataPort } from "./port.js";
import { StatsReader } from "./stats.js";

export interface MetadataTaskSource {
  /** Every task this agent holds. */
  records(): TaskRecord[];
}

export interface TaskMetadataServerOptions {
  dataDir: string;
  availabilityZone: string;
  runtime: ContainerRuntime;
  tasks: MetadataTaskSource;
  log: Logger;
  /** Task role credentials (asked of the server); without it `/v2/credentials` answers 404. */
  credentials?: TaskRoleCredentialCache;
  /** Where Berth's API is now; without it (or while unknown) the API port answers 502. */
  api?: () => ApiTarget | undefined;
}

/**
 * Fargate's endpoint is reached by a task's own SDKs only; 128 connections from one address is
 * far past what they open, and a quarter of the descriptors left after the agent's reserve
 * keeps a flood of idle connections from taking the ones it needs to read its own records.
 */
export function metadataConnectionLimits(): ConnectionLimits {
  return defaultConnectionLimits(0.25, 128, 10_000);
}

const CREDENTIALS_ROUTE = /^\/v2\/credentials\/([0-9a-fA-F-]{36})\/?$/;
const ROUTE = /^\/v([34])\/([A-Za-z0-9_.-]+)-(\d+)(\/task)?(\/stats)?\/?$/;

export class TaskMetadataServer implements MetadataEndpoint {
  readonly #options: TaskMetadataServerOptions;
  readonly #servers = new Map<string, Promise<Server[]>>();
  readonly #stats = new StatsReader();
  readonly #limits: ConnectionLimits;
  /** One count over every gateway's listener. */
  readonly #budget;

  constructor(options: TaskMetadataServerOptions) {
    this.#options = options;
    this.#limits = metadataConnectionLimits();
    this.#budget = connectionBudget(this.#limits.total);
  }

  async url(gateway: string): Promise<string> {
    return `http://${gateway}:${await this.#portNumber()}`;
  }

  async apiUrl(gateway: string): Promise<string> {
    return `http://${gateway}:${await apiProxyPort(this.#options.dataDir)}`;
  }

  async listen(gateway: string): Promise<void> {
    let server = this.#servers.get(gateway);
    if (server === undefined) {
      server = this.#listen(gateway);
      this.#servers.set(gateway, server);
      server.catch(() => this.#servers.delete(gateway));
    }
    await server;
  }

  /**
   * The task `exceptTaskId` is gone: its credentials and its containers' last stats readings
   * are forgotten (they were kept for the agent's life), and the endpoint stops listening on
   * `gateway` once no other live task is on it.
   */
  async release(gateway: string, exceptTaskId: string): Promise<void> {
    const gone = this.#options.tasks.records().find((r) => r.assignment.taskId === exceptTaskId);
    if (gone !== undefined) {
      this.#options.credentials?.forget(gone.assignment.taskArn);
      gone.assignment.containers.forEach((c, index) =>
        this.#stats.forget(containerId(exceptTaskId, c.name, index)),
      );
    }
    const inUse = this.#options.tasks
      .records()
      .some(
        (r) =>
          r.assignment.taskId !== exceptTaskId &&
          r.state.lastStatus !== "STOPPED" &&
          r.state.network?.gateway === gateway,
      );
    if (inUse) return;
    const server = this.#servers.get(gateway);
    this.#servers.delete(gateway);
    if (server !== undefined) await closeAll(await server.catch(() => undefined));
  }

  async close(): Promise<void> {
    const servers = [...this.#servers.values()];
    this.#servers.clear();
    for (const server of servers) await closeAll(await server.catch(() => undefined));
  }

  #portNumber(): Promise<number> {
    return metadataPort(this.#options.dataDir);
  }

  async #listen(gateway: string): Promise<Server[]> {
    const metadata = createServer({ connectionsCheckingInterval: 2_000 }, (request, response) => {
      this.#serve(request, response).catch((error: unknown) => {
        this.#options.log.warn("task metadata request failed", { error: String(error) });
        if (!response.headersSent) send(response, 500, { error: "internal error" });
        else response.destroy();
      });
    });
    const api = createServer({ connectionsCheckingInterval: 2_000 }, (request, response) => {
      const target = this.#options.api?.();
      if (target === undefined) return send(response, 502, { error: "Berth's API is unknown" });
      passToApi(request, response, target);
    });
    // No upgrades (WebSockets) through to the server: see api-proxy.ts.
    api.on("upgrade", (_request, socket) => socket.destroy());
    // Idle and slow clients are closed: headers within the limit, a metadata GET within twice
    // it (an API call through the proxy may carry a body and take longer: its headers only).
    for (const server of [metadata, api]) {
      server.headersTimeout = this.#limits.headersMs;
      server.on("clientError", (_error, socket) => socket.destroy());
      limitConnections(server, this.#limits, this.#options.log, this.#budget);
    }
    metadata.requestTimeout = this.#limits.headersMs * 2;
    const servers: Server[] = [];
    try {
      servers.push(await listenOn(metadata, await this.#portNumber(), gateway));
      servers.push(await listenOn(api, await apiProxyPort(this.#options.dataDir), gateway));
    } catch (error) {
      await closeAll(servers);
      throw error;
    }
    return servers;
  }

  /**
   * `GET /v2/credentials/<id>`: the task role's temporary credentials in ECS's shape, only to
   * the task whose credentials id it is, from its own address.
   */
  async #serveCredentials(
    request: IncomingMessage,
    response: ServerResponse,
    id: string,
  ): Promise<void> {
    const record = this.#options.tasks
      .records()
      .find(
        (r) =>
          r.assignment.taskRole?.credentialsId === id.toLowerCase() &&
          r.state.lastStatus !== "STOPPED",
      );
    const cache = this.#options.credentials;
    if (record === undefined || cache === undefined)
      return send(response, 400, {
        code: "InvalidIdInRequest",
        message: "CredentialsV2Request: Credentials not found",
      });
    const source = (request.socket.remoteAddress ?? "").replace(/^::ffff:/, "");
    if (source !== record.state.network?.privateIPv4Address)
      return send(response, 403, {
        code: "AccessDenied",
        message: "the credentials endpoint answers only the task the credentials are for",
      });
    try {
      const c = await cache.get(record.assignment.taskArn);
      return send(response, 200, {
        AccessKeyId: c.accessKeyId,
        Expiration: new Date(c.expiration).toISOString().replace(/\.\d{3}Z$/, "Z"),
        RoleArn: c.roleArn,
        SecretAccessKey: c.secretAccessKey,
        Token: c.sessionToken,
      });
    } catch (error) {
      // What was refused or failed, never a credential (there is none in these messages).
      this.#options.log.warn("task role credentials unavailable", {
        taskArn: record.assignment.taskArn,
        error: error instanceof Error ? error.message : String(error),
      });
      if (error instanceof CredentialsRefused)
        return send(response, 403, { code: "AccessDenied", message: error.message });
      return send(response, 503, {
        code: "ServiceUnavailable",
        message: "the task role's credentials cannot be fetched now",
      });
    }
  }

  async #serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (request.method !== "GET") return send(response, 405, { error: "only GET is served" });
    const path = new URL(request.url ?? "/", "http://metadata").pathname;
    const credentials = CREDENTIALS_ROUTE.exec(path);
    if (credentials !== null)
      return this.#serveCredentials(request, response, credentials[1] ?? "");
    const match = ROUTE.exec(path);
    const record =
      match === null
        ? undefined
        : this.#options.tasks
            .records()
            .find((r) => r.assignment.taskId === match[2] && r.state.lastStatus !== "STOPPED");
    const container = record?.assignment.containers[Number(match?.[3])];
    if (match === null || record === undefined || container === undefined)
      return send(response, 404, { error: "no such task metadata path" });
    const source = (request.socket.remoteAddress ?? "").replace(/^::ffff:/, "");
    if (source !== record.state.network?.privateIPv4Address)
      return send(response, 403, { error: "the task metadata endpoint answers only its own task" });
    const [, version, , , task, stats] = match;
    const facts = await this.#facts(record, version === "3" ? 3 : 4);
    if (task !== undefined && stats !== undefined) {
      const all: Record<string, unknown> = {};
      for (const c of record.assignment.containers) {
        const id = facts.containers.get(c.name)?.id ?? "";
        all[id] = await this.#containerStats(record, c, id);
      }
      return send(response, 200, all);
    }
    if (stats !== undefined) {
      const id = facts.containers.get(container.name)?.id ?? "";
      return send(response, 200, await this.#containerStats(record, container, id));
    }
    return send(
      response,
      200,
      task !== undefined ? taskDocument(facts) : containerDocument(facts, container),
    );
  }

  async #facts(record: TaskRecord, version: 3 | 4): Promise<TaskFacts> {
    const containers = new Map<string, ContainerFacts>();
    for (const [index, c] of record.assignment.containers.entries()) {
      const id = containerId(record.assignment.taskId, c.name, index);
      const info = await this.#options.runtime.inspectContainer(id);
      containers.set(c.name, {
        id,
        ...(info?.createdAt === undefined ? {} : { createdAt: info.createdAt }),
        ...(info?.startedAt === undefined ? {} : { startedAt: info.startedAt }),
        ...(info?.exit === undefined ? {} : { finishedAt: info.exit.finishedAt }),
      });
    }
    const storage = (
      await this.#options.runtime.sandboxUsage(record.assignment.taskId).catch(() => undefined)
    )?.storage;
    return {
      assignment: record.assignment,
      state: record.state,
      availabilityZone: this.#options.availabilityZone,
      containers,
      version,
      ...(storage === undefined ? {} : { storage }),
    };
  }

  async #containerStats(
    record: TaskRecord,
    container: ContainerAssignment,
    id: string,
  ): Promise<unknown> {
    const { runtime } = this.#options;
    const info = await runtime.inspectContainer(id);
    if (info === undefined || info.status !== "running") return null;
    const usage = await runtime.containerUsage(id);
    const memoryMiB = container.memory ?? record.assignment.memory;
    return this.#stats.read({
      id,
      name: container.name,
      usage,
      memoryLimitBytes: memoryMiB * 1024 * 1024,
      ...(info.pid === undefined ? {} : { pid: info.pid }),
    });
  }
}

function send(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
  });
  response.end(text);
}

function listenOn(server: Server, port: number, address: string): Promise<Server> {
  return new Promise<Server>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, address, () => {
      server.off("error", reject);
      resolve(server);
    });
  });
}

async function closeAll(servers: Server[] | undefined): Promise<void> {
  for (const server of servers ?? []) await close(server);
}

function close(server: Server | undefined): Promise<void> {
  if (server === undefined) return Promise.resolve();
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
