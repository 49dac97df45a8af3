/**
 * The control plane's end of the agent channel: one authenticated WebSocket per host on the
 * main listener. On hello it records the host and its capacity, applies every task state the
 * agent holds, and answers with `sync` (all that host should run). Reports are applied exactly
 * once in effect: each carries a per-host sequence number, applied only if higher than the last
 * one stored (in the same transaction as the change), and always acked.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer, type WebSocket } from "ws";
import type { Clock, Logger } from "../core/index.js";
import {
  HOST_ID_HEADER,
  HOST_SECRET_HEADER,
  PROTOCOL_VERSION,
  parseAgentMessage,
  type AgentMessage,
  type ContainerSecrets,
  type ServerMessage,
  type LogLine,
  type TaskRoleCredentials,
} from "../protocol/index.js";
import type { Store } from "../store/index.js";
import { applyTaskState, assignmentsForHost } from "./tasks.js";
import { HeartbeatWriter } from "./heartbeats.js";
import { authenticateHost } from "./host-credentials.js";
import { hostRoomView } from "./host-room-view.js";
import { idleTimer } from "./idle-timer.js";
import { ReportBatcher } from "./report-batch.js";
import { JoinRefused } from "./tokens.js";

/**
 * How long an agent may stay silent before we close its channel: at least this, and at least four
 * of the heartbeat intervals it is asked for (`heartbeatIntervalMs`).
 */
const IDLE_TIMEOUT_MS = 10_000;
const HELLO_TIMEOUT_MS = 10_000;

export interface AgentChannelOptions {
  store: Store;
  clock: Clock;
  log: Logger;
  /** Called after a report changed a task (for watchers and the meter), with its new status. */
  onTaskChanged?: (taskArn: string, lastStatus: string) => void;
  onProgress?: (progress: Extract<AgentMessage, { type: "progress" }>) => void;
  /**
   * The secrets of a task this host is starting (values in memory only: never stored, never
   * logged). Throws with the reason the task cannot have them.
   */
  resolveSecrets?: (hostId: string, taskArn: string) => Promise<ContainerSecrets[]>;
  /** Stores container output for the awslogs driver; resolves to an error text if refused. */
  onLogEvents?: (
    hostId: string,
    batch: Extract<AgentMessage, { type: "logEvents" }>,
  ) => Promise<string | undefined>;
  /** Receives the tasks' cgroup samples; agents send them every `usageIntervalMs`. */
  onUsage?: (usage: Extract<AgentMessage, { type: "usage" }>) => void;
  usageIntervalMs?: number;
  /**
   * Whether this host may use the channel without TLS (the local agent of `berth up`, over
   * loopback); every other agent must come over TLS.
   */
  plainAllowed?: (hostId: string, remoteAddress: string | undefined) => boolean;
  /** The names image URIs give the server's own registry (sent in `welcome`). */
  registryNames?: () => string[];
  /**
   * Mints temporary credentials of a task's role for the host that runs it (the task role
   * endpoint's source); absent, every request is refused.
   */
  onCredentialsRequest?: (hostId: string, taskArn: string) => Promise<TaskRoleCredentials>;
  /** A host said hello (after its sync was sent). */
  onHostConnected?: (hostId: string) => void;
  /**
   * How long a host's recorded heartbeat may stand before the next is written (heartbeats.ts
   * `writeEveryFor` the host timeout); 0, every heartbeat (in batches).
   */
  heartbeatWriteEveryMs?: number;
  /**
   * How often agents are asked to heartbeat (in `welcome`; heartbeats.ts `heartbeatEveryFor`
   * the host timeout); absent, they heartbeat every 2 s, their default.
   */
  heartbeatIntervalMs?: number;
}

/** Receives a task's log lines; `done` comes once, last, with `error` if the stream failed. */
export type LogSink = (lines: LogLine[], done: boolean, error?: string) => void;

/** Receives an exec session's output, then its end (once, last). */
export interface ExecSink {
  output(stream: "stdout" | "stderr", data: Buffer): void;
  exit(exitCode: number | undefined, error?: string): void;
}

export interface ExecSession {
  input(data: Buffer, eof?: boolean): void;
  /** A new terminal size (a session on a terminal). */
  resize(cols: number, rows: number): void;
  /** Kills the process; no `exit` follows. */
  cancel(): void;
}

export type ExecRequest = Omit<Extract<ServerMessage, { type: "exec" }>, "type" | "requestId">;

export class AgentChannelServer {
  readonly #wss = new WebSocketServer({ noServer: true, maxPayload: 4 * 1024 * 1024 });
  readonly #sessions = new Map<string, WebSocket>();
  readonly #logStreams = new Map<string, { hostId: string; onLines: LogSink }>();
  readonly #execs = new Map<string, { hostId: string; sink: ExecSink }>();

  readonly #reports: ReportBatcher;
  readonly #heartbeats: HeartbeatWriter;
  /** How long an agent may stay silent (IDLE_TIMEOUT_MS). */
  readonly #idleMs: number;

  constructor(private readonly options: AgentChannelOptions) {
    this.#idleMs = Math.max(IDLE_TIMEOUT_MS, 4 * (options.heartbeatIntervalMs ?? 0));
    this.#reports = new ReportBatcher(options.store, options.clock);
    this.#heartbeats = new HeartbeatWriter(options.store, options.clock, options.log, {
      writeEveryMs: options.heartbeatWriteEveryMs ?? 0,
    });
  }

  /** Hosts with an open channel now. */
  connectedHosts(): string[] {
    return [...this.#sessions.keys()];
  }

  /**
   * Authenticates an agent before its WebSocket exists: its host id and credential, and on its
   * first connection a join token. A refusal is an HTTP status with the reason as the body,
   * which the agent prints; the server logs it too.
   */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const { store, clock, log } = this.options;
    const header = (name: string): string | undefined => {
      const value = req.headers[name];
      return typeof value === "string" ? value : undefined;
    };
    const hostId = header(HOST_ID_HEADER) ?? "";
    const joinToken = /^Bearer (\S+)$/.exec(header("authorization") ?? "")?.[1];
    const refuse = (status: string, code: string, reason: string): void => {
      log.warn("agent refused", { hostId, remote: req.socket.remoteAddress, code, reason });
      socket.end(
        `HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n` +
          `Content-Length: ${Buffer.byteLength(reason)}\r\n\r\n${reason}`,
      );
    };
    // The join token and the host's credential travel in this request: never in the clear.
    const encrypted = (req.socket as Duplex & { encrypted?: boolean }).encrypted === true;
    if (!encrypted && this.options.plainAllowed?.(hostId, req.socket.remoteAddress) !== true)
      return refuse(
        "403 Forbidden",
        "ChannelNotEncrypted",
        "the agent channel is served over TLS only: use the join line's https:// --server and --ca-cert-hash",
      );
    authenticateHost(
      store,
      {
        hostId,
        secret: header(HOST_SECRET_HEADER) ?? "",
        ...(joinToken === undefined ? {} : { joinToken }),
      },
      clock.now(),
    ).then(
      ({ joinedWith }) => {
        if (joinedWith !== undefined)
          log.info("host joined", { hostId, token: joinedWith, remote: req.socket.remoteAddress });
        const address = datacenterAddress(req.socket.remoteAddress);
        this.#wss.handleUpgrade(req, socket, head, (ws) => this.#accept(ws, hostId, address));
      },
      (error: unknown) => {
        if (error instanceof JoinRefused) return refuse("403 Forbidden", error.code, error.message);
        log.error("agent authentication failed", { error: String(error) });
        refuse("500 Internal Server Error", "ServerError", "the server failed to check the agent");
      },
    );
  }

  /** Sends a message to a host if it is connected; the next sync covers it otherwise. */
  send(hostId: string, message: ServerMessage): boolean {
    const ws = this.#sessions.get(hostId);
    if (ws === undefined || ws.readyState !== ws.OPEN) return false;
    ws.send(JSON.stringify(message));
    return true;
  }

  /**
   * Streams a task's logs from its host. Returns a cancel function, or undefined when the host
   * is not connected.
   */
  streamLogs(
    hostId: string,
    request: { taskArn: string; container?: string; follow: boolean },
    onLines: LogSink,
  ): (() => void) | undefined {
    const requestId = randomUUID();
    this.#logStreams.set(requestId, { hostId, onLines });
    if (!this.send(hostId, { type: "logs", requestId, ...request })) {
      this.#logStreams.delete(requestId);
      return undefined;
    }
    return () => {
      if (this.#logStreams.delete(requestId)) this.send(hostId, { type: "logsCancel", requestId });
    };
  }

  /** Starts an exec session on a task's host; undefined when that host is not connected. */
  openExec(hostId: string, request: ExecRequest, sink: ExecSink): ExecSession | undefined {
    const requestId = randomUUID();
    this.#execs.set(requestId, { hostId, sink });
    if (!this.send(hostId, { type: "exec", requestId, ...request })) {
      this.#execs.delete(requestId);
      return undefined;
    }
    return {
      input: (data, eof) => {
        if (this.#execs.has(requestId))
          this.send(hostId, {
            type: "execInput",
            requestId,
            data: data.toString("base64"),
            ...(eof === true ? { eof } : {}),
          });
      },
      resize: (cols, rows) => {
        if (this.#execs.has(requestId))
          this.send(hostId, { type: "execResize", requestId, cols, rows });
      },
      cancel: () => {
        if (this.#execs.delete(requestId)) this.send(hostId, { type: "execCancel", requestId });
      },
    };
  }

  async close(): Promise<void> {
    this.#heartbeats.close();
    for (const ws of this.#sessions.values()) ws.terminate();
    this.#sessions.clear();
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
  }

  /** `authenticated`: the host the upgrade proved; hello may speak for it alone. */
  #accept(ws: WebSocket, authenticated: string, address: string | null): void {
    const { log } = this.options;
    let hostId: string | undefined;
    const idle = idleTimer(() => ws.terminate());
    const resetIdle = (ms: number): void => idle.touch(ms);
    resetIdle(HELLO_TIMEOUT_MS);
    // Messages of one channel are handled strictly in order.
    let queue: Promise<void> = Promise.resolve();
    ws.on("message", (data: Buffer) => {
      resetIdle(this.#idleMs);
      const message = parseAgentMessage(data.toString("utf8"));
      if (message === undefined) {
        log.warn("dropped an invalid agent message", { hostId });
        return;
      }
      // A heartbeat says the host is alive when it arrives, not when the messages queued before
      // it are done: a backlog of reports (hundreds of tasks starting at once on a loaded
      // server) would otherwise hold it back past the host timeout and get a live host declared
      // lost. It changes nothing the ordered messages depend on.
      if (message.type === "heartbeat" && hostId !== undefined) {
        this.#heard(hostId, message.taskStorageGiB).catch((error: unknown) =>
          log.warn("recording a heartbeat failed", { hostId, error: String(error) }),
        );
        return;
      }
      queue = queue
        .then(async () => {
          if (message.type === "hello") {
            if (message.hostId !== authenticated) {
              log.warn("agent refused", {
                hostId: authenticated,
                code: "HelloHostMismatch",
                reason: `hello names host ${message.hostId}`,
              });
              ws.close(4003, `this channel was authenticated as host ${authenticated}`);
              return;
            }
            hostId = await this.#hello(ws, message, address);
          } else if (hostId !== undefined) await this.#handle(ws, hostId, message);
        })
        .catch((error: unknown) => {
          log.error("agent message failed", {
            hostId: hostId ?? authenticated,
            error: error instanceof Error ? error.stack : String(error),
          });
          // A hello that failed part way (the store went away between its writes and the
          // sync) left a channel whose reports and heartbeats nobody applies: the agent says
          // hello again on a new one.
          if (message.type === "hello" && hostId === undefined)
            ws.close(1011, "the server failed to register the host; connect again");
        });
    });
    ws.on("close", () => {
      idle.stop();
      // Keyed by the authenticated host: a hello that failed after registering the channel
      // left it there with `hostId` unset.
      if (this.#sessions.get(authenticated) === ws) {
        this.#sessions.delete(authenticated);
        this.#heartbeats.forget(authenticated);
        for (const [requestId, stream] of this.#logStreams) {
          if (stream.hostId !== authenticated) continue;
          this.#logStreams.delete(requestId);
          stream.onLines([], true, "The task's host disconnected.");
        }
        for (const [requestId, exec] of this.#execs) {
          if (exec.hostId !== authenticated) continue;
          this.#execs.delete(requestId);
          exec.sink.exit(undefined, "The task's host disconnected.");
        }
        log.info("agent disconnected", { hostId: authenticated });
      }
    });
    ws.on("error", (error) => log.warn("agent channel error", { hostId, error: error.message }));
  }

  async #hello(
    ws: WebSocket,
    hello: Extract<AgentMessage, { type: "hello" }>,
    address: string | null,
  ): Promise<string | undefined> {
    const { store, clock, log } = this.options;
    if (hello.protocolVersion !== PROTOCOL_VERSION) {
      log.warn("agent speaks another protocol version", {
        hostId: hello.hostId,
        version: hello.protocolVersion,
      });
      ws.close(4000, `protocol version ${PROTOCOL_VERSION} required`);
      return undefined;
    }
    const now = clock.now().getTime();
    const providers = JSON.stringify(hello.capacityProviders ?? ["FARGATE"]);
    const lastSeq = await store.transaction().execute(async (trx) => {
      const existing = await trx
        .selectFrom("host_liveness")
        .select("last_seq")
        .where("host_id", "=", hello.hostId)
        .executeTakeFirst();
      await trx
        .insertInto("host_liveness")
        .values({ host_id: hello.hostId, last_seen_at: now, last_seq: -1 })
        .onConflict((oc) => oc.column("host_id").doUpdateSet({ last_seen_at: now }))
        .execute();
      await trx
        .insertInto("hosts")
        .values({
          id: hello.hostId,
          availability_zone: hello.availabilityZone,
          cpu: hello.cpu,
          memory: hello.memory,
          status: "ACTIVE",
          registered_at: now,
          capacity_providers: providers,
          task_storage_gib: hello.taskStorageGiB ?? null,
          address,
        })
        .onConflict((oc) =>
          oc.column("id").doUpdateSet({
            availability_zone: hello.availabilityZone,
            cpu: hello.cpu,
            memory: hello.memory,
            status: "ACTIVE",
            capacity_providers: providers,
            task_storage_gib: hello.taskStorageGiB ?? null,
            address,
          }),
        )
        .execute();
      for (const state of hello.tasks) {
        if (await applyTaskState(trx, hello.hostId, state))
          this.options.onTaskChanged?.(state.taskArn, state.lastStatus);
      }
      return Number(existing?.last_seq ?? -1);
    });
    // A host joined, came back or changed its size: placement reads every host again.
    hostRoomView(store).forget();
    this.#heartbeats.wrote(hello.hostId, now);
    const previous = this.#sessions.get(hello.hostId);
    if (previous !== undefined && previous !== ws) previous.terminate();
    this.#sessions.set(hello.hostId, ws);
    log.info("agent connected", {
      hostId: hello.hostId,
      az: hello.availabilityZone,
      cpu: hello.cpu,
      memory: hello.memory,
    });
    ws.send(
      JSON.stringify({
        type: "welcome",
        hostId: hello.hostId,
        lastSeq,
        ...(this.options.onUsage === undefined
          ? {}
          : { usageIntervalMs: this.options.usageIntervalMs }),
        ...(this.options.heartbeatIntervalMs === undefined
          ? {}
          : { heartbeatIntervalMs: this.options.heartbeatIntervalMs }),
        ...(this.options.registryNames === undefined
          ? {}
          : { registryNames: this.options.registryNames() }),
      } satisfies ServerMessage),
    );
    ws.send(
      JSON.stringify({
        type: "sync",
        tasks: await assignmentsForHost(store, hello.hostId),
      } satisfies ServerMessage),
    );
    this.options.onHostConnected?.(hello.hostId);
    return hello.hostId;
  }

  async #heard(hostId: string, taskStorageGiB?: number): Promise<void> {
    const { store } = this.options;
    // Written with other hosts' heartbeats, in one statement (heartbeats.ts).
    this.#heartbeats.heard(hostId);
    // The disk offered rides a heartbeat only when it changed (the agent sends it then).
    if (taskStorageGiB !== undefined)
      await store
        .updateTable("hosts")
        .set({ task_storage_gib: taskStorageGiB })
        .where("id", "=", hostId)
        .execute();
  }

  async #handle(ws: WebSocket, hostId: string, message: AgentMessage): Promise<void> {
    switch (message.type) {
      case "heartbeat":
        await this.#heard(hostId, message.taskStorageGiB);
        return;
      case "progress":
        this.options.onProgress?.(message);
        return;
      case "usage":
        this.options.onUsage?.(message);
        return;
      case "secretsRequest": {
        let answer: ServerMessage;
        try {
          if (this.options.resolveSecrets === undefined)
            throw new Error("secrets are not kept here");
          const containers = await this.options.resolveSecrets(hostId, message.taskArn);
          answer = { type: "secrets", requestId: message.requestId, containers };
        } catch (error) {
          answer = {
            type: "secrets",
            requestId: message.requestId,
            error: error instanceof Error ? error.message : String(error),
          };
        }
        ws.send(JSON.stringify(answer satisfies ServerMessage));
        return;
      }
      case "logEvents": {
        const error =
          this.options.onLogEvents === undefined
            ? "logs are not kept here"
            : await this.options.onLogEvents(hostId, message);
        ws.send(
          JSON.stringify({
            type: "logEventsAck",
            batchId: message.batchId,
            ...(error === undefined ? {} : { error }),
          } satisfies ServerMessage),
        );
        return;
      }
      case "credentialsRequest": {
        const answer = await (
          this.options.onCredentialsRequest?.(hostId, message.taskArn) ??
          Promise.reject(new Error("task roles are not served here"))
        ).then(
          (credentials) => ({ credentials }),
          (error: unknown) => ({
            error: error instanceof Error ? error.message : "the credentials were refused",
          }),
        );
        ws.send(
          JSON.stringify({
            type: "credentials",
            requestId: message.requestId,
            ...answer,
          } satisfies ServerMessage),
        );
        return;
      }
      case "logLines": {
        const stream = this.#logStreams.get(message.requestId);
        if (stream === undefined || stream.hostId !== hostId) return;
        if (message.done) this.#logStreams.delete(message.requestId);
        stream.onLines(message.lines, message.done, message.error);
        return;
      }
      case "execOutput": {
        const exec = this.#execs.get(message.requestId);
        if (exec?.hostId === hostId)
          exec.sink.output(message.stream, Buffer.from(message.data, "base64"));
        return;
      }
      case "execExit": {
        const exec = this.#execs.get(message.requestId);
        if (exec?.hostId !== hostId) return;
        this.#execs.delete(message.requestId);
        exec.sink.exit(message.exitCode, message.error);
        return;
      }
      case "report": {
        // With the reports of other hosts that arrive meanwhile, in one transaction
        // (report-batch.ts): applied only if its sequence number is new, and always acked.
        const changed = await this.#reports.apply({
          hostId,
          seq: message.seq,
          state: message.state,
        });
        ws.send(JSON.stringify({ type: "ack", seq: message.seq } satisfies ServerMessage));
        if (changed) this.options.onTaskChanged?.(message.state.taskArn, message.state.lastStatus);
        return;
      }
      case "hello":
        return;
    }
  }
}

/**
 * Where a host's peers and the server's host reach it: the address its channel came from, or
 * null over loopback (the local host of `berth up`, whose tasks are on this machine's bridges).
 */
function datacenterAddress(remote: string | undefined): string | null {
  const address = remote?.replace(/^::ffff:/, "");
  if (address === undefined || address === "::1" || address.startsWith("127.")) return null;
  return /^\d+\.\d+\.\d+\.\d+$/.test(address) ? address : null;
}
