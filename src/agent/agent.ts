/**
 * A compute host's agent: keeps its identity and capacity, its channel to the control plane,
 * and its tasks. It runs anywhere a `berth agent` runs, and inside `berth up` for the local host
 * (over loopback, through the same channel). Tasks are detached from it: killing the agent
 * leaves containers running, and a new agent on the same data dir adopts them.
 */
import { cpus, totalmem } from "node:os";
import { ensurePrivateDir, lockDataDir, raiseOpenFilesLimit, type Logger } from "../core/index.js";
import { AgentChannel } from "./channel.js";
import { hostCredential } from "./identity.js";
import type { TaskHost } from "./tasks/ports.js";
import { LogShipper } from "./log-shipper.js";
import { TaskMetadataServer, TaskRoleCredentialCache } from "./metadata/index.js";
import { TaskExecServer } from "./task-exec.js";
import { SecretsRequests } from "./task-secrets.js";
import { TaskLogServer } from "./task-logs.js";
import { SandboxPool } from "./tasks/sandbox-pool.js";
import { TaskManager } from "./tasks/task-manager.js";
import { UsageSampler } from "./usage-sampler.js";

/** How often the agent measures the disk it offers to task storage. */
const STORAGE_MEASURE_MS = 10_000;

export interface AgentOptions {
  /** The control plane's endpoint(s), e.g. http://127.0.0.1:4566; the agent fails over in order. */
  server: string | readonly string[];
  /** PEM of the CA the server's TLS certificate must chain to (see server-trust.ts). */
  serverCa?: string;
  /** Needed until the host has joined; afterwards its own credential (in `dataDir`) is enough. */
  joinToken?: string;
  dataDir: string;
  availabilityZone: string;
  /** FARGATE (on-demand, the default) and/or FARGATE_SPOT: the capacity this host offers. */
  capacityProviders?: Array<"FARGATE" | "FARGATE_SPOT">;
  /** CPU units and MiB offered to tasks; default: the host's, less a reserve. */
  cpu?: number;
  memory?: number;
  host: TaskHost;
  log: Logger;
  /** The server refused this host for good; the agent has stopped trying (one-line reason). */
  onRefused?: (reason: string) => void;
  /**
   * Prepared sandboxes (sandbox-pool.ts); default on, off with BERTH_SANDBOX_POOL=0 (the launch
   * benchmark's "pool off" run). Entries an earlier agent left are removed either way.
   */
  sandboxPool?: boolean;
}

export interface RunningAgent {
  hostId: string;
  tasks: TaskManager;
  channel: AgentChannel;
  /** The prepared sandboxes, when the pool is on. */
  pool: SandboxPool | undefined;
  /** Disconnects; containers keep running, prepared sandboxes are removed. */
  close(): Promise<void>;
}

/** What a host offers by default: every core, and its memory less a reserve for itself. */
export function defaultCapacity(): { cpu: number; memory: number } {
  const memory = Math.floor(totalmem() / (1024 * 1024));
  const reserve = Math.max(512, Math.floor(memory * 0.1));
  return { cpu: cpus().length * 1024, memory: memory - reserve };
}

export async function startAgent(options: AgentOptions): Promise<RunningAgent> {
  ensurePrivateDir(options.dataDir);
  // The soft limit up to the hard one, before any listener sizes its connection limits from
  // it: a flood of connections must leave the agent descriptors to read its own records.
  raiseOpenFilesLimit(options.log);
  // Two agents on one dir would adopt each other's containers.
  const lock = lockDataDir(options.dataDir);
  const { hostId, secret } = hostCredential(options.dataDir);
  const capacity = defaultCapacity();
  const log = options.log.child({ hostId });
  const shipper = new LogShipper(
    options.host.runtime,
    {
      get connected() {
        return channel.connected;
      },
      send: (m) => channel.send(m),
    },
    log,
  );
  // Task role credentials: asked of the server over the channel, kept in memory only.
  const credentials = new TaskRoleCredentialCache((message) => channel.send(message));
  const metadata = new TaskMetadataServer({
    dataDir: options.dataDir,
    availabilityZone: options.availabilityZone,
    runtime: options.host.runtime,
    tasks: { records: () => tasks.running().map((run) => run.record) },
    log,
    credentials,
    // Tasks reach Berth's API through the agent, at the server its channel is on now.
    api: () => ({
      origin: new URL(channel.server).origin,
      ...(options.serverCa === undefined ? {} : { caPem: options.serverCa }),
    }),
  });
  const secrets = new SecretsRequests({
    get connected() {
      return channel.connected;
    },
    send: (m) => channel.send(m),
  });
  const prepared = SandboxPool.supported(options.host)
    ? new SandboxPool({ host: options.host, log })
    : undefined;
  const poolOn = options.sandboxPool ?? process.env.BERTH_SANDBOX_POOL !== "0";
  const tasks: TaskManager = new TaskManager({
    secrets: (taskArn) => secrets.fetch(taskArn),
    ...(prepared !== undefined && poolOn ? { prepared } : {}),
    metadata,
    shipLogs: (containerId, target) => shipper.ship(containerId, target),
    openLogStream: (target) => shipper.open(target),
    dataDir: options.dataDir,
    host: options.host,
    log,
    report: (state) => channel.report(state),
    progress: (taskArn, container, bytesDone, bytesTotal) =>
      channel.send({ type: "progress", taskArn, container, bytesDone, bytesTotal }),
  });
  // Tasks report only after adoptAll below, by when the channel exists.
  const channel: AgentChannel = new AgentChannel(
    options.server,
    { secret, ...(options.joinToken === undefined ? {} : { joinToken: options.joinToken }) },
    {
      hostId,
      availabilityZone: options.availabilityZone,
      cpu: options.cpu ?? capacity.cpu,
      memory: options.memory ?? capacity.memory,
      capacityProviders: options.capacityProviders ?? ["FARGATE"],
    },
    {
      snapshot: () => tasks.snapshot(),
      onMessage: (message) => {
        if (message.type === "exec") exec.serve(message);
        else if (message.type === "execInput") exec.input(message);
        else if (message.type === "execResize") exec.resize(message);
        else if (message.type === "execCancel") exec.cancel(message.requestId);
        else if (message.type === "logs") logs.serve(message);
        else if (message.type === "logsCancel") logs.cancel(message.requestId);
        else if (message.type === "logEventsAck") shipper.acked(message.batchId, message.error);
        else if (message.type === "credentials") credentials.answered(message);
        else if (message.type === "secrets") secrets.answered(message);
        else if (message.type === "networks")
          options.host.network.useNetworks?.(message).catch((error: unknown) =>
            log.warn("setting up the cluster networks across hosts failed", {
              error: String(error),
            }),
          );
        else tasks.handle(message);
      },
      onAcked: (taskArn, state) => tasks.acked(taskArn, state),
      onWelcome: (welcome) => {
        sampler.every(welcome.usageIntervalMs);
        if (welcome.registryNames !== undefined)
          options.host.images.useOwnRegistry?.({
            names: welcome.registryNames,
            // The server that welcomed us: with several, the one the channel is on now.
            origin: new URL(channel.server).origin,
            ...(options.serverCa === undefined ? {} : { caPem: options.serverCa }),
          });
      },
      onRefused: (reason) => {
        if (options.onRefused === undefined) log.error("the server refused this host", { reason });
        else options.onRefused(reason);
      },
    },
    log,
    options.serverCa,
  );
  const send: AgentChannel["send"] = (message) => channel.send(message);
  const logs = new TaskLogServer(tasks, options.host.runtime, send, log);
  const exec = new TaskExecServer(tasks, options.host.runtime, send, log);
  const sampler = new UsageSampler(options.host.runtime, () => tasks.running(), send, log);
  // Before adoption: a task whose claim a kill cut short restarts from a namespace of its own.
  await prepared?.reclaim();
  await tasks.adoptAll();
  // The disk offered to task storage, for placement (issue 12, item 10): before the hello,
  // then as it changes (images and registry blobs share the disk).
  const measureStorage = async (): Promise<void> => {
    try {
      const gib = await options.host.runtime.offeredStorageGiB?.();
      if (gib !== undefined) channel.setTaskStorage(gib);
    } catch (error) {
      log.warn("measuring the disk offered to task storage failed", { error: String(error) });
    }
  };
  await measureStorage();
  const storageTimer = setInterval(() => void measureStorage(), STORAGE_MEASURE_MS);
  storageTimer.unref();
  channel.start();
  return {
    hostId,
    tasks,
    channel,
    pool: poolOn ? prepared : undefined,
    async close() {
      clearInterval(storageTimer);
      logs.cancelAll();
      exec.cancelAll();
      shipper.close();
      sampler.close();
      channel.close();
      credentials.close();
      await metadata.close();
      await prepared?.close();
      await options.host.runtime.close();
      lock.release();
    },
  };
}
