/**
 * The task metadata endpoint (v4 and v3), served by the agent on each cluster bridge's gateway
 * address: a task reaches it on its own network, at `http://<gateway>:<port>/v4/<token>` with
 * the token naming one container (`<taskId>-<index>`). A request is answered only when it comes
 * from that task's own address, so no task reads another's metadata (and neither does the
 * host). The port is chosen once per agent and kept in its data dir, so the URIs given to
 * running containers stay valid across an agent restart.
 *
 * Fargate serves it at 169.254.170.2, one address for every task; here the agent and the
 * several Berths a machine may run each need their own, so it is the gateway's.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Logger } from "../../core/index.js";
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
import { metadataPort } from "./port.js";
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
}

const ROUTE = /^\/v([34])\/([A-Za-z0-9_.-]+)-(\d+)(\/task)?(\/stats)?\/?$/;

export class TaskMetadataServer implements MetadataEndpoint {
  readonly #options: TaskMetadataServerOptions;
  readonly #servers = new Map<string, Promise<Server>>();
  readonly #stats = new StatsReader();

  constructor(options: TaskMetadataServerOptions) {
    this.#options = options;
  }

  async url(gateway: string): Promise<string> {
    return `http://${gateway}:${await this.#portNumber()}`;
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

  /** Stops listening on `gateway` once no live task but `exceptTaskId` is on it. */
  async release(gateway: string, exceptTaskId: string): Promise<void> {
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
    if (server !== undefined) await close(await server.catch(() => undefined));
  }

  async close(): Promise<void> {
    const servers = [...this.#servers.values()];
    this.#servers.clear();
    for (const server of servers) await close(await server.catch(() => undefined));
  }

  #portNumber(): Promise<number> {
    return metadataPort(this.#options.dataDir);
  }

  async #listen(gateway: string): Promise<Server> {
    const server = createServer((request, response) => {
      this.#serve(request, response).catch((error: unknown) => {
        this.#options.log.warn("task metadata request failed", { error: String(error) });
        if (!response.headersSent) send(response, 500, { error: "internal error" });
        else response.destroy();
      });
    });
    const port = await this.#portNumber();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, gateway, () => {
        server.off("error", reject);
        resolve();
      });
    });
    return server;
  }

  async #serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (request.method !== "GET") return send(response, 405, { error: "only GET is served" });
    const match = ROUTE.exec(new URL(request.url ?? "/", "http://metadata").pathname);
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

function close(server: Server | undefined): Promise<void> {
  if (server === undefined) return Promise.resolve();
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
