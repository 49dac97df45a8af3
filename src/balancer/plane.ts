/**
 * The data plane: one HTTP server per listener port on the listen address, proxying each
 * request by its listener's rules to a target of the chosen group; health checks for every
 * target of a group in use; draining targets removed once idle or past their delay; request
 * counts per target group. Its configuration is the store's, re-read on every change.
 */
import {
  Agent,
  createServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import type { Socket } from "node:net";
import type { TargetHealth } from "@aws-sdk/client-elastic-load-balancing-v2";
import {
  connectionBudget,
  defaultConnectionLimits,
  limitConnections,
  type ConnectionBudget,
  type ConnectionLimits,
  SerialPass,
  type Logger,
  type ResponseTimeTotals,
} from "../core/index.js";
import type { Store } from "../store/index.js";
import { actionGroups, loadPlaneConfig, type GroupConfig, type PlaneConfig } from "./config.js";
import {
  afterCheck,
  describeHealth,
  INITIAL_HEALTH,
  probe,
  reachable,
  type HealthState,
} from "./health.js";
import { hostOf } from "./patterns.js";
import { ResponseTimeHistogram } from "./response-times.js";
import { answer, forward, forwardedHeaders, tunnel } from "./proxy.js";
import { pickListener, pickRule, pickTarget, pickWeighted } from "./routing.js";

export interface LoadBalancerPlaneOptions {
  store: Store;
  log: Logger;
  /** Where listeners bind; 127.0.0.1 unless `berth up --elb-address` says otherwise. */
  address?: string;
  /** How often the configuration is re-read without a nudge. */
  syncIntervalMs?: number;
  /** Told when a target's health state changes (the console's live stream). */
  onHealthChange?: (targetGroupArn: string) => void;
}

/**
 * A listener's clients are the world: 1,024 connections from one address, all listeners
 * together half the descriptors left after the reserve (the API front and the in-process agent
 * need the rest), and ALB's idle timeout for a client that sends no request.
 */
export function balancerConnectionLimits(): ConnectionLimits {
  return defaultConnectionLimits(0.5, 1024, IDLE_TIMEOUT_MS);
}

/** ALB's idle timeout (60 s) bounds how long a target may take to answer, too. */
const IDLE_TIMEOUT_MS = 60_000;

interface TargetRuntime {
  key: string;
  group: string;
  host: string;
  port: number;
  health: HealthState;
  inflight: number;
  drainingUntil?: number;
  /** Routable: its health checks pass (or are off) and it has not been unreachable since. */
  healthy: boolean;
  /** It refused a connection, or a sweep found it unreachable, since its last passing check. */
  unreachable: boolean;
  agent: Agent;
  timer?: NodeJS.Timeout;
  checking: boolean;
}

/** A response not begun after this long starts a sweep of its group's targets. */
const STALL_MS = 500;
/** How long a sweep's connect may take: a live machine answers in a round trip. */
const SWEEP_TIMEOUT_MS = 1_000;

const newTargetAgent = (): Agent => new Agent({ keepAlive: true, keepAliveMsecs: 1000 });

const targetKey = (group: string, id: string, port: number): string => `${group}|${id}:${port}`;

export class LoadBalancerPlane {
  readonly #servers = new Map<
    number,
    { server: Server; reservedAt: number; sockets: Set<Socket> }
  >();
  readonly #targets = new Map<string, TargetRuntime>();
  readonly #counts = new Map<string, number>();
  readonly #responseTimes = new Map<string, ResponseTimeHistogram>();
  readonly #cursors = new Map<string, number>();
  /** Groups whose targets a sweep is connecting to now. */
  readonly #sweeping = new Set<string>();
  #config: PlaneConfig = { listeners: [], groups: new Map() };
  readonly #syncs: SerialPass;
  #closed = false;

  readonly #limits: ConnectionLimits;
  /** One count over every listener. */
  readonly #budget: ConnectionBudget;

  constructor(private readonly options: LoadBalancerPlaneOptions) {
    this.#limits = balancerConnectionLimits();
    this.#budget = connectionBudget(this.#limits.total);
    this.#syncs = new SerialPass(() => this.#sync(), options.log, {
      failed: "load balancer sync failed",
    });
  }

  /** Reads the configuration and keeps re-reading it. */
  async start(): Promise<void> {
    // The first sync is awaited apart: `berth up` fails when it does.
    await this.#sync();
    this.#syncs.start(this.options.syncIntervalMs ?? 2000);
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#syncs.stop();
    for (const target of this.#targets.values()) this.#forget(target);
    await Promise.all(
      [...this.#servers.values()].map(
        ({ server, sockets }) =>
          new Promise<void>((resolve) => {
            server.close(() => resolve());
            // Upgraded (tunnelled) connections are not the HTTP server's to close any more.
            for (const socket of sockets) socket.destroy();
          }),
      ),
    );
    this.#servers.clear();
  }

  /** Cumulative requests routed to each target group (ALBRequestCountPerTarget's numerator). */
  requestCounts(): Map<string, number> {
    return new Map(this.#counts);
  }

  /** Cumulative TargetResponseTime histograms per target group that has had an answer. */
  responseTimes(): Map<string, ResponseTimeTotals> {
    return new Map([...this.#responseTimes].map(([arn, h]) => [arn, h.reading()]));
  }

  targetHealth(group: string, id: string, port: number): TargetHealth | undefined {
    const target = this.#targets.get(targetKey(group, id, port));
    if (target === undefined) return undefined;
    const config = this.#config.groups.get(group)?.group;
    if (config?.HealthCheckEnabled === false)
      return {
        State: "unavailable",
        Reason: "Target.HealthCheckDisabled",
        Description: "Health checks are disabled",
      };
    return describeHealth(target.health);
  }

  async reservePort(port: number): Promise<void> {
    if (this.#servers.has(port)) return;
    const server = createServer({ connectionsCheckingInterval: 2_000 }, (req, res) =>
      this.#serve(port, req, res),
    );
    server.keepAliveTimeout = IDLE_TIMEOUT_MS;
    server.headersTimeout = this.#limits.headersMs;
    limitConnections(server, this.#limits, this.options.log, this.#budget);
    server.on("upgrade", (req: IncomingMessage, socket: Socket, head: Buffer) =>
      this.#upgrade(port, req, socket, head),
    );
    server.on("clientError", (_error, socket) => socket.destroy());
    const sockets = new Set<Socket>();
    server.on("connection", (socket: Socket) => {
      sockets.add(socket);
      socket.once("close", () => sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, this.options.address ?? "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
    this.#servers.set(port, { server, reservedAt: Date.now(), sockets });
  }

  /** The store changed: re-read it (once more after the sync under way, if one is). */
  changed(): void {
    void this.#syncs.kick();
  }

  async #sync(): Promise<void> {
    const config = await loadPlaneConfig(this.options.store);
    this.#config = config;
    const seen = new Set<string>();
    for (const group of config.groups.values()) {
      for (const target of group.targets) {
        const key = targetKey(group.arn, target.id, target.port);
        seen.add(key);
        let runtime = this.#targets.get(key);
        if (runtime === undefined) {
          runtime = {
            key,
            group: group.arn,
            host: target.id,
            port: target.port,
            health: INITIAL_HEALTH,
            inflight: 0,
            healthy: false,
            unreachable: false,
            agent: newTargetAgent(),
            checking: false,
          };
          this.#targets.set(key, runtime);
        }
        runtime.drainingUntil = target.drainingUntil;
        if (group.inUse && runtime.drainingUntil === undefined) this.#schedule(runtime, group, 0);
        this.#refresh(runtime, group);
      }
    }
    for (const [key, target] of this.#targets)
      if (!seen.has(key)) {
        this.#forget(target);
        this.#targets.delete(key);
      }
    await this.#finishDraining();
    // Ports no listener uses any more are closed (a port reserved for a listener being created
    // is kept a little while for its row to appear).
    const ports = new Set(config.listeners.map((l) => l.port));
    for (const [port, { server, reservedAt }] of this.#servers)
      if (!ports.has(port) && Date.now() - reservedAt > 10_000) {
        this.#servers.delete(port);
        server.close();
        server.closeIdleConnections();
      }
    // Listeners kept in the store (a restarted Berth) listen again.
    for (const port of ports)
      if (!this.#servers.has(port) && !this.#closed)
        await this.reservePort(port).catch((error: unknown) =>
          this.options.log.error("a listener's port cannot be listened on", {
            port,
            error: String(error),
          }),
        );
  }

  #refresh(target: TargetRuntime, group: GroupConfig): void {
    const enabled = group.group.HealthCheckEnabled !== false;
    target.healthy = (!enabled || target.health.state === "healthy") && !target.unreachable;
  }

  /** Runs the next health check of `target` after `delayMs` unless one is planned already. */
  #schedule(target: TargetRuntime, group: GroupConfig, delayMs: number): void {
    if (target.timer !== undefined || target.checking || this.#closed) return;
    if (group.group.HealthCheckEnabled === false) return;
    target.timer = setTimeout(() => {
      target.timer = undefined;
      target.checking = true;
      const settings = this.#config.groups.get(target.group);
      if (settings === undefined || this.#targets.get(target.key) !== target) {
        target.checking = false;
        return;
      }
      probe(settings.group, target.host, target.port)
        .then((result) => {
          target.checking = false;
          const current = this.#config.groups.get(target.group);
          if (current === undefined || this.#targets.get(target.key) !== target) return;
          const before = target.health.state;
          target.health = afterCheck(
            target.health,
            result,
            current.group.HealthyThresholdCount ?? 5,
            current.group.UnhealthyThresholdCount ?? 2,
          );
          if (target.health.state !== before) {
            this.options.log.info("target health changed", {
              target: `${target.host}:${target.port}`,
              from: before,
              to: target.health.state,
            });
            this.options.onHealthChange?.(target.group);
          }
          if (result.ok) target.unreachable = false;
          this.#refresh(target, current);
          if (current.inUse && target.drainingUntil === undefined)
            this.#schedule(
              target,
              current,
              (current.group.HealthCheckIntervalSeconds ?? 30) * 1000,
            );
        })
        .catch(() => (target.checking = false));
    }, delayMs);
    target.timer.unref();
  }

  #forget(target: TargetRuntime): void {
    clearTimeout(target.timer);
    target.timer = undefined;
    target.agent.destroy();
  }

  /** Draining targets with nothing in flight, or past their delay, are deregistered for good. */
  async #finishDraining(): Promise<void> {
    const now = Date.now();
    for (const target of this.#targets.values()) {
      if (target.drainingUntil === undefined) continue;
      if (target.inflight > 0 && now < target.drainingUntil) continue;
      const [id, port] = [target.host, target.port];
      await this.options.store
        .deleteFrom("elb_targets")
        .where("target_group_arn", "=", target.group)
        .where("id", "=", id)
        .where("port", "=", port)
        .where("draining_until", "is not", null)
        .execute();
    }
  }

  /** The target for a request to `group`, or undefined when the group has none serving. */
  #choose(groupArn: string): TargetRuntime | undefined {
    const group = this.#config.groups.get(groupArn);
    if (group === undefined) return undefined;
    const candidates: TargetRuntime[] = [];
    for (const target of group.targets) {
      const runtime = this.#targets.get(targetKey(groupArn, target.id, target.port));
      if (runtime !== undefined && runtime.drainingUntil === undefined) candidates.push(runtime);
    }
    const algorithm = group.attributes["load_balancing.algorithm.type"] ?? "round_robin";
    const cursor =
      algorithm === "weighted_random"
        ? Math.floor(Math.random() * 1e9)
        : (this.#cursors.get(groupArn) ?? 0);
    this.#cursors.set(groupArn, (cursor + 1) % 1e9);
    return pickTarget(candidates, algorithm, cursor);
  }

  /** The listener's rule for this request, and a target if it forwards. */
  #route(port: number, req: IncomingMessage) {
    const listeners = this.#config.listeners.filter((l) => l.port === port);
    const host = hostOf(req.headers.host);
    const listener = pickListener(listeners, host);
    if (listener === undefined) return undefined;
    const path = (req.url ?? "/").split("?", 1)[0] ?? "/";
    const rule = pickRule(listener.rules, host, path);
    if (rule === undefined) return undefined;
    const group = pickWeighted(actionGroups(rule.action));
    return { listener, rule, group: group?.arn };
  }

  #serve(port: number, req: IncomingMessage, res: ServerResponse): void {
    const route = this.#route(port, req);
    if (route === undefined) {
      answer(res, 503, "Service Temporarily Unavailable");
      return;
    }
    const fixed = route.rule.action.FixedResponseConfig;
    if (route.rule.action.Type === "fixed-response" && fixed !== undefined) {
      req.resume();
      const body = fixed.MessageBody ?? "";
      res.writeHead(Number(fixed.StatusCode), {
        "Content-Type": fixed.ContentType ?? "text/plain; charset=utf-8",
        "Content-Length": Buffer.byteLength(body),
      });
      res.end(body);
      return;
    }
    const groupArn = route.group ?? "";
    const target = this.#choose(groupArn);
    if (target === undefined) {
      req.resume();
      answer(res, 503, "Service Temporarily Unavailable");
      return;
    }
    this.#counts.set(groupArn, (this.#counts.get(groupArn) ?? 0) + 1);
    target.inflight++;
    const stalled = setTimeout(() => this.#sweep(groupArn), STALL_MS);
    stalled.unref();
    const sent = performance.now();
    void forward(
      req,
      res,
      target,
      target.agent,
      forwardedHeaders(req, port),
      IDLE_TIMEOUT_MS,
      () => {
        clearTimeout(stalled);
        // ELB's TargetResponseTime: request sent to the target until its response headers begin
        // (a target that never answered has none, as in ELB's access logs' -1).
        this.#responseTime(groupArn).record((performance.now() - sent) / 1000);
      },
    )
      .then(({ refused }) => {
        // ALB keeps sending to a target until its health checks fail (interval x threshold);
        // Berth stops at once when nothing listens there, so that one retry by the client
        // finds a live target, until a health check passes again.
        if (refused) this.#unreachable(target);
      })
      .finally(() => {
        clearTimeout(stalled);
        this.#release(target);
      });
  }

  /**
   * A response is slow to begin: is every routable target of the group still there? A machine
   * that died (or lost its network) refuses nothing, it just never answers, so neither its
   * refusals nor a client's retry would tell; its targets' requests hang until the health
   * checks fail (interval x threshold, 10 s at least). A TCP connect answers within a
   * round trip from any live machine, however busy its process, so the sweep takes a dead
   * machine's targets out in about a second, before a client's retry comes. A client cannot use
   * it to take a live target out: only a connect that fails does. One sweep per group at once.
   */
  #sweep(groupArn: string): void {
    if (this.#sweeping.has(groupArn) || this.#closed) return;
    this.#sweeping.add(groupArn);
    const routable = [...this.#targets.values()].filter(
      (t) => t.group === groupArn && t.healthy && t.drainingUntil === undefined,
    );
    void Promise.all(
      routable.map(async (target) => {
        if (!(await reachable(target.host, target.port, SWEEP_TIMEOUT_MS)))
          this.#unreachable(target, true);
      }),
    ).finally(() => this.#sweeping.delete(groupArn));
  }

  /**
   * Out of routing until a health check passes. After a failed sweep its connections are dropped
   * too, so that requests waiting on a dead machine get their 502 now instead of at the
   * client's timeout (a target that only refused new connections may still finish its own).
   */
  #unreachable(target: TargetRuntime, dropConnections = false): void {
    if (this.#targets.get(target.key) !== target) return;
    if (!target.unreachable)
      this.options.log.info("target unreachable", { target: `${target.host}:${target.port}` });
    target.unreachable = true;
    target.healthy = false;
    if (!dropConnections) return;
    target.agent.destroy();
    target.agent = newTargetAgent();
  }

  #upgrade(port: number, req: IncomingMessage, socket: Socket, head: Buffer): void {
    const route = this.#route(port, req);
    const target = route?.group === undefined ? undefined : this.#choose(route.group);
    if (route?.group === undefined || target === undefined) {
      socket.end(
        "HTTP/1.1 503 Service Temporarily Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
      );
      return;
    }
    this.#counts.set(route.group, (this.#counts.get(route.group) ?? 0) + 1);
    target.inflight++;
    const groupArn = route.group;
    // ALB times an upgrade like any request (its access logs' target_processing_time, type
    // ws): from the handshake sent to the target until its answer (the 101, or a refusal)
    // begins; the connection's life after that is not a response time.
    void tunnel(req, socket, head, target, port, (seconds) =>
      this.#responseTime(groupArn).record(seconds),
    ).finally(() => this.#release(target));
  }

  #responseTime(groupArn: string): ResponseTimeHistogram {
    let histogram = this.#responseTimes.get(groupArn);
    if (histogram === undefined)
      this.#responseTimes.set(groupArn, (histogram = new ResponseTimeHistogram()));
    return histogram;
  }

  #release(target: TargetRuntime): void {
    target.inflight--;
    // The last request of a draining target ends its draining now, as ELB does.
    if (target.inflight === 0 && target.drainingUntil !== undefined) this.changed();
  }
}
