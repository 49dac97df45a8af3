/**
 * The agent's end of the channel to the control plane: one WebSocket to one of the servers it
 * was given. When that channel drops or cannot be opened, the agent tries the next server at once;
 * only after every server has failed in a row does it wait, with exponential backoff. Every
 * (re)connect starts with `hello` carrying the latest state of every task the agent holds, so
 * nothing reported while disconnected is lost; reports are snapshots numbered from the last
 * sequence the (shared) store applied and resent until acked, so any server can take them.
 */
import WebSocket from "ws";
import type { Logger } from "../core/index.js";
import {
  AGENT_CHANNEL_PATH,
  HOST_ID_HEADER,
  HOST_SECRET_HEADER,
  PROTOCOL_VERSION,
  parseServerMessage,
  type AgentMessage,
  type ServerMessage,
  type TaskState,
} from "../protocol/index.js";

/**
 * How often the channel checks on its server (pings a quiet one, leaves a silent one, resends
 * unacknowledged reports), and heartbeats unless the server's `welcome` names another interval
 * (a longer one at scale: control/heartbeats.ts `heartbeatEveryFor`).
 */
const HEARTBEAT_MS = 2_000;
/**
 * A server heard from in none of this (no message, no pong to the heartbeats' pings) is taken
 * for dead even though its connection stays open (a frozen process, a half-open link): the
 * channel moves to the next server well before the host timeout (30 s) would declare this
 * host lost.
 */
const SERVER_SILENCE_MS = 15_000;
/**
 * A heartbeat pings the server only once it has been quiet this long: a server that talks (an
 * assignment, an ack) is known to answer, and a pong to every host's ping every 2 s was 5-12%
 * of a server's CPU in bench:placement at 5,000 hosts. A frozen server is still left at
 * SERVER_SILENCE_MS (pinged at every heartbeat from here on).
 */
const PING_WHEN_QUIET_MS = 5_000;
const RESEND_AFTER_MS = 10_000;
const BACKOFF_MIN_MS = 100;
const BACKOFF_MAX_MS = 5_000;

export interface HostIdentity {
  hostId: string;
  availabilityZone: string;
  cpu: number;
  memory: number;
  capacityProviders: Array<"FARGATE" | "FARGATE_SPOT">;
}

export interface ChannelHandlers {
  /** Current snapshot of every task the agent holds (sent in hello). */
  snapshot(): TaskState[];
  onMessage(message: ServerMessage): void;
  /** A task whose latest report the server has acknowledged. */
  onAcked(taskArn: string, state: TaskState): void;
  /** The server accepted the channel; says how often it wants task usage (if at all). */
  onWelcome?(welcome: Extract<ServerMessage, { type: "welcome" }>): void;
  /**
   * The server refused this host for good (unknown, expired or revoked token, another host's
   * id, ...): the channel stops trying. `reason` is one line, fit to print as is.
   */
  onRefused?(reason: string): void;
}

/** How the agent proves who it is: its own credential, and a join token until it has joined. */
export interface ChannelCredentials {
  secret: string;
  joinToken?: string;
}

export class AgentChannel {
  #ws: WebSocket | undefined;
  #closed = false;
  #backoff = BACKOFF_MIN_MS;
  /** The server tried last, and how many in a row have failed since one welcomed us. */
  #serverIndex = 0;
  #failedInARow = 0;
  #nextSeq = 0;
  #ready = false;
  /** The 2 s check on the server (HEARTBEAT_MS), and the heartbeats when not at that beat. */
  #heartbeat: NodeJS.Timeout | undefined;
  #heartbeats: NodeJS.Timeout | undefined;
  /** When the server was last heard from (any message or pong). */
  #heardAt = 0;
  /** GiB of disk offered to task storage: measured by the agent, sent in hello and on change. */
  #taskStorageGiB: number | undefined;
  #taskStorageSent: number | undefined;
  #reconnect: NodeJS.Timeout | undefined;
  /** Latest unacknowledged snapshot per task, the seq it was last sent with, and when. */
  readonly #pending = new Map<string, { state: TaskState; seq?: number; sentAt?: number }>();

  readonly #servers: readonly string[];

  /** `servers`: the control plane's endpoints (one or several, `http(s)://host:port`). */
  constructor(
    servers: string | readonly string[],
    private readonly credentials: ChannelCredentials,
    private readonly host: HostIdentity,
    private readonly handlers: ChannelHandlers,
    private readonly log: Logger,
    /** PEM of the CA an https:// server's certificate must chain to (see server-trust.ts). */
    private readonly caPem?: string,
    /**
     * The local address to connect from (the hollow hosts of the placement bench: thousands of
     * hosts in one process stand for as many machines, and the server admits 512 per address).
     */
    private readonly localAddress?: string,
  ) {
    this.#servers = typeof servers === "string" ? [servers] : servers;
    if (this.#servers.length === 0) throw new Error("the agent needs at least one server");
  }

  /** The server the channel is on (or trying) now. */
  get server(): string {
    return this.#servers[this.#serverIndex] ?? "";
  }

  start(): void {
    this.#connect();
  }

  get connected(): boolean {
    return this.#ready;
  }

  /** The disk offered to task storage now; the next heartbeat carries it if it changed. */
  setTaskStorage(gib: number): void {
    this.#taskStorageGiB = gib;
  }

  #sendHeartbeat(): void {
    const storage = this.#taskStorageGiB;
    const changed = storage !== undefined && storage !== this.#taskStorageSent;
    this.#send({ type: "heartbeat", ...(changed ? { taskStorageGiB: storage } : {}) });
    if (changed) this.#taskStorageSent = storage;
  }

  /** Queues a task's latest state; sent now if connected, after the next hello otherwise. */
  report(state: TaskState): void {
    this.#pending.set(state.taskArn, { state });
    if (this.#ready) this.#sendReport(state.taskArn);
  }

  /**
   * Sends a message that is only worth anything now (progress, log lines, a credentials
   * request): dropped offline. Says whether it went.
   */
  send(
    message: Extract<
      AgentMessage,
      {
        type:
          | "progress"
          | "logLines"
          | "logEvents"
          | "execOutput"
          | "execExit"
          | "usage"
          | "credentialsRequest"
          | "secretsRequest";
      }
    >,
  ): boolean {
    if (!this.#ready) return false;
    this.#send(message);
    return true;
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#reconnect);
    clearInterval(this.#heartbeat);
    clearInterval(this.#heartbeats);
    this.#ws?.terminate();
  }

  #connect(): void {
    if (this.#closed) return;
    const url = new URL(AGENT_CHANNEL_PATH, this.server.replace(/^http/, "ws"));
    const caPem = url.protocol === "wss:" ? this.caPem : undefined;
    const { secret, joinToken } = this.credentials;
    const ws = new WebSocket(url, {
      headers: {
        [HOST_ID_HEADER]: this.host.hostId,
        [HOST_SECRET_HEADER]: secret,
        ...(joinToken === undefined ? {} : { authorization: `Bearer ${joinToken}` }),
      },
      handshakeTimeout: 10_000,
      ...(this.localAddress === undefined ? {} : { localAddress: this.localAddress }),
      ...(caPem === undefined
        ? {}
        : {
            ca: caPem,
            // The pinned CA is this server's own: it signs only the server's listeners, so a
            // chain to it is the server whatever address reached it (NAT, another interface).
            checkServerIdentity: () => undefined,
          }),
    });
    this.#ws = ws;
    ws.on("pong", () => (this.#heardAt = Date.now()));
    ws.on("open", () => {
      this.#heardAt = Date.now();
      this.#send({
        type: "hello",
        protocolVersion: PROTOCOL_VERSION,
        ...this.host,
        ...(this.#taskStorageGiB === undefined ? {} : { taskStorageGiB: this.#taskStorageGiB }),
        tasks: this.handlers.snapshot(),
      });
      this.#taskStorageSent = this.#taskStorageGiB;
    });
    ws.on("message", (data: Buffer) => {
      this.#heardAt = Date.now();
      const message = parseServerMessage(data.toString("utf8"));
      if (message === undefined) {
        this.log.warn("dropped an invalid server message");
        return;
      }
      this.#receive(message);
    });
    ws.on("unexpected-response", (_req, res) => {
      const status = res.statusCode ?? 0;
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body = (body + chunk).slice(0, 1000)));
      res.on("end", () => {
        const reason = body.trim().split("\n", 1)[0] || `HTTP ${status}`;
        // A refusal of who we are does not change by retrying; a server error may.
        if (status >= 400 && status < 500) return this.#refused(reason);
        this.log.warn("the server failed the agent's channel", { status, reason });
        ws.terminate();
      });
      res.on("error", () => ws.terminate());
    });
    ws.on("error", (error) => {
      // A certificate that does not chain to the pinned CA: someone else answers at that address.
      if (/certificate|self.signed|unable to verify/i.test(error.message))
        this.log.warn("the server's certificate is not from the pinned CA", {
          error: error.message,
        });
      else this.log.debug("agent channel error", { error: error.message });
    });
    ws.on("close", (code: number, why: Buffer) => {
      const welcomed = this.#ready;
      this.#ready = false;
      // 4000-4999: the server closed the channel over who we are (protocol, host): for good.
      if (code >= 4000 && code < 5000) this.#refused(why.toString("utf8") || `closed (${code})`);
      clearInterval(this.#heartbeat);
      clearInterval(this.#heartbeats);
      if (this.#closed) return;
      // The next server at once; a pause only once every server has failed in a row.
      this.#failedInARow = welcomed ? 1 : this.#failedInARow + 1;
      this.#serverIndex = (this.#serverIndex + 1) % this.#servers.length;
      let delay = 0;
      if (this.#failedInARow >= this.#servers.length) {
        delay = Math.min(this.#backoff, BACKOFF_MAX_MS) * (0.5 + Math.random() / 2);
        this.#backoff = Math.min(this.#backoff * 2, BACKOFF_MAX_MS);
      }
      if (this.#servers.length > 1)
        this.log.info("agent channel moves to another server", { server: this.server, delay });
      this.#reconnect = setTimeout(() => this.#connect(), delay);
    });
  }

  #refused(reason: string): void {
    if (this.#closed) return;
    this.close();
    this.handlers.onRefused?.(reason);
  }

  /**
   * The 2 s check on the server, and heartbeats `every` ms: on that beat, or a timer of their own
   * when the server's welcome names another interval.
   */
  #beat(every: number): void {
    clearInterval(this.#heartbeat);
    clearInterval(this.#heartbeats);
    if (every !== HEARTBEAT_MS) this.#heartbeats = setInterval(() => this.#sendHeartbeat(), every);
    this.#heartbeat = setInterval(() => {
      if (Date.now() - this.#heardAt > SERVER_SILENCE_MS) {
        this.log.warn("the server has not answered: moving on", { server: this.server });
        this.#ws?.terminate();
        return;
      }
      if (Date.now() - this.#heardAt >= PING_WHEN_QUIET_MS) this.#ws?.ping();
      if (every === HEARTBEAT_MS) this.#sendHeartbeat();
      this.#resendUnacked();
    }, HEARTBEAT_MS);
  }

  #receive(message: ServerMessage): void {
    switch (message.type) {
      case "welcome":
        this.#ready = true;
        this.#backoff = BACKOFF_MIN_MS;
        this.#failedInARow = 0;
        this.#nextSeq = Math.max(this.#nextSeq, message.lastSeq + 1);
        this.log.info("agent connected to the control plane", {
          hostId: message.hostId,
          server: this.server,
        });
        this.#beat(message.heartbeatIntervalMs ?? HEARTBEAT_MS);
        for (const taskArn of this.#pending.keys()) this.#sendReport(taskArn);
        this.handlers.onWelcome?.(message);
        return;
      case "ack":
        for (const [taskArn, pending] of this.#pending) {
          if (pending.seq === message.seq) {
            this.#pending.delete(taskArn);
            this.handlers.onAcked(taskArn, pending.state);
          }
        }
        return;
      default:
        this.handlers.onMessage(message);
    }
  }

  #sendReport(taskArn: string): void {
    const pending = this.#pending.get(taskArn);
    if (pending === undefined) return;
    pending.seq = this.#nextSeq++;
    pending.sentAt = Date.now();
    this.#send({ type: "report", seq: pending.seq, state: pending.state });
  }

  /**
   * A report the server took but could not apply (its database failed it) is never acked: sent
   * again, with a new seq, once it has waited RESEND_AFTER_MS, so it is not lost until the next
   * reconnect. A report applied twice changes nothing.
   */
  #resendUnacked(): void {
    const due = Date.now() - RESEND_AFTER_MS;
    for (const [taskArn, pending] of this.#pending)
      if (pending.sentAt !== undefined && pending.sentAt < due) this.#sendReport(taskArn);
  }

  #send(message: AgentMessage): void {
    if (this.#ws?.readyState === WebSocket.OPEN) this.#ws.send(JSON.stringify(message));
  }
}
