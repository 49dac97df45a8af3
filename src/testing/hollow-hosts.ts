/**
 * Hollow hosts: many hosts in one process that speak the real agent protocol (the agent's own
 * channel, join token, pinned CA, reports numbered and acked) but run no containers: a task
 * assigned to one is reported RUNNING at once, and STOPPED when the server says stop. They
 * measure and test the control plane alone (placement, dispatch, acknowledgement) at a scale no
 * machine could run real tasks at, as Nomad's C2M did with its hollow nodes. Never a stand-in for
 * the agent where containers matter: what a hollow host reports is only what it was told.
 */
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { AgentChannel } from "../agent/channel.js";
import { trustServer } from "../agent/server-trust.js";
import { silentLogger } from "../core/index.js";
import type { ServerMessage, TaskAssignment, TaskState } from "../protocol/index.js";
import { tempDataDir } from "./harness.js";

export interface HollowHostsOptions {
  /** Every server's agent endpoint (`https://...`); each host is given all, from its own first. */
  servers: string[];
  caCertHash: string;
  joinToken: string;
  count: number;
  /** Capacity of each host (CPU units, MiB). */
  cpu: number;
  memory: number;
  /** Availability zones to spread the hosts over. */
  zones?: string[];
}

export interface HollowTask {
  hostId: string;
  /** performance.now() when the host first heard of the task, and when the server acked RUNNING. */
  assignedAt: number;
  acknowledgedAt?: number;
  stopped: boolean;
}

class HollowHost {
  readonly tasks = new Map<string, TaskState>();
  readonly channel: AgentChannel;

  constructor(
    readonly hostId: string,
    servers: string[],
    caPem: string,
    joinToken: string,
    zone: string,
    capacity: { cpu: number; memory: number },
    private readonly fleet: HollowHosts,
    localAddress: string,
  ) {
    this.channel = new AgentChannel(
      servers,
      { secret: randomBytes(32).toString("base64url"), joinToken },
      { hostId, availabilityZone: zone, ...capacity, capacityProviders: ["FARGATE"] },
      {
        snapshot: () => [...this.tasks.values()],
        onMessage: (message) => this.#receive(message),
        onAcked: (taskArn, state) => this.fleet.acked(taskArn, state),
        onRefused: (reason) => this.fleet.refused(hostId, reason),
      },
      silentLogger,
      caPem,
      localAddress,
    );
  }

  #receive(message: ServerMessage): void {
    switch (message.type) {
      case "sync":
        for (const assignment of message.tasks) this.#run(assignment);
        return;
      case "assign":
        this.#run(message.task);
        return;
      case "stop":
        this.#stop(message.taskArn, message.stopCode, message.stoppedReason);
        return;
      default:
        return;
    }
  }

  #run(assignment: TaskAssignment): void {
    if (assignment.desiredStatus === "STOPPED") {
      this.#stop(assignment.taskArn, assignment.stopCode ?? "", assignment.stoppedReason ?? "");
      return;
    }
    if (this.tasks.has(assignment.taskArn)) return;
    const now = Date.now();
    const state: TaskState = {
      taskArn: assignment.taskArn,
      lastStatus: "RUNNING",
      containers: assignment.containers.map((c) => ({ name: c.name, lastStatus: "RUNNING" })),
      pullStartedAt: now,
      pullStoppedAt: now,
      startedAt: now,
    };
    this.tasks.set(assignment.taskArn, state);
    this.fleet.assigned(assignment.taskArn, this.hostId);
    this.channel.report(state);
  }

  #stop(taskArn: string, stopCode: string, stoppedReason: string): void {
    const running = this.tasks.get(taskArn);
    if (running === undefined || running.lastStatus === "STOPPED") return;
    const now = Date.now();
    const state: TaskState = {
      ...running,
      lastStatus: "STOPPED",
      containers: running.containers.map((c) => ({ ...c, lastStatus: "STOPPED", exitCode: 0 })),
      stoppingAt: now,
      executionStoppedAt: now,
      stoppedAt: now,
      ...(stopCode === "" ? {} : { stopCode }),
      ...(stoppedReason === "" ? {} : { stoppedReason }),
    };
    this.tasks.set(taskArn, state);
    this.channel.report(state);
  }
}

export class HollowHosts {
  readonly hosts: HollowHost[] = [];
  /** Every task any host was told to run, by ARN. */
  readonly tasks = new Map<string, HollowTask>();
  readonly refusals: string[] = [];
  #waiters: Array<() => void> = [];

  /** Joins `count` hollow hosts; resolves once every one is connected. */
  static async start(options: HollowHostsOptions): Promise<HollowHosts> {
    const dir = tempDataDir("berth-hollow-");
    let caPem: string;
    try {
      const primary = options.servers[0] ?? "";
      ({ caPem } = await trustServer({
        server: primary,
        dataDir: dir,
        caCertHash: options.caCertHash,
      }));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const fleet = new HollowHosts();
    const zones = options.zones ?? ["us-east-1a", "us-east-1b", "us-east-1c"];
    for (let i = 0; i < options.count; i++) {
      // Each host starts on a different server, as agents given `--server A,B,C` in another order.
      const offset = i % options.servers.length;
      const servers = [...options.servers.slice(offset), ...options.servers.slice(0, offset)];
      fleet.hosts.push(
        new HollowHost(
          `hollow-${i.toString().padStart(5, "0")}-${randomBytes(3).toString("hex")}`,
          servers,
          caPem,
          options.joinToken,
          zones[i % zones.length] ?? "us-east-1a",
          { cpu: options.cpu, memory: options.memory },
          fleet,
          // Each 256 from their own loopback address, as machines would: the server admits at
          // most 512 connections per address (core/connection-limits.ts), and the clients of a
          // bench or test on 127.0.0.1 need their share.
          `127.0.${1 + Math.floor(i / 256 / 254)}.${2 + (Math.floor(i / 256) % 254)}`,
        ),
      );
    }
    // Joined a few at a time: a real fleet does not join in one instant either.
    for (let i = 0; i < fleet.hosts.length; i += 50) {
      for (const host of fleet.hosts.slice(i, i + 50)) host.channel.start();
      await fleet.until(
        () => fleet.hosts.slice(0, i + 50).every((h) => h.channel.connected),
        120_000,
      );
    }
    return fleet;
  }

  assigned(taskArn: string, hostId: string): void {
    if (!this.tasks.has(taskArn))
      this.tasks.set(taskArn, { hostId, assignedAt: performance.now(), stopped: false });
  }

  acked(taskArn: string, state: TaskState): void {
    const task = this.tasks.get(taskArn);
    if (task === undefined) return;
    if (state.lastStatus === "RUNNING") task.acknowledgedAt ??= performance.now();
    if (state.lastStatus === "STOPPED") task.stopped = true;
    this.#wake();
  }

  refused(hostId: string, reason: string): void {
    this.refusals.push(`${hostId}: ${reason}`);
    this.#wake();
  }

  /** Tasks the hosts hold and have not stopped, per host id. */
  running(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const host of this.hosts) {
      let n = 0;
      for (const state of host.tasks.values()) if (state.lastStatus !== "STOPPED") n++;
      counts.set(host.hostId, n);
    }
    return counts;
  }

  /** Resolves when `done()` holds (checked after every ack), rejects after `timeoutMs`. */
  async until(done: () => boolean, timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (!done()) {
      if (this.refusals.length > 0)
        throw new Error(`a hollow host was refused: ${this.refusals[0]}`);
      const left = deadline - performance.now();
      if (left <= 0) throw new Error("hollow hosts: timed out");
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 100));
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  close(): void {
    for (const host of this.hosts) host.channel.close();
  }
}
