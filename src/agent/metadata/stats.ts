/**
 * Container stats for the task metadata endpoint, in Docker's ContainerStats shape (what ECS
 * serves at `/stats`): CPU and memory from the container's cgroup, processes, and the task's
 * network counters read from `/proc/<pid>/net/dev` (the container's own namespace). `precpu_stats`
 * and the network rates come from the previous reading of the same container, as Docker does.
 */
import { readFile } from "node:fs/promises";
import { cpus } from "node:os";
import type { SandboxUsage } from "../runtime/index.js";

export interface StatsInput {
  id: string;
  name: string;
  usage: SandboxUsage;
  /** The container's memory limit: its own, or the task's. */
  memoryLimitBytes: number;
  /** The container's first process, while it runs. */
  pid?: number;
}

interface Reading {
  at: Date;
  cpuNanos: number;
  systemNanos: number;
  network?: NetworkCounters;
}

type NetworkCounters = Record<
  | "rx_bytes"
  | "rx_packets"
  | "rx_errors"
  | "rx_dropped"
  | "tx_bytes"
  | "tx_packets"
  | "tx_errors"
  | "tx_dropped",
  number
>;

/** USER_HZ: /proc/stat counts in hundredths of a second on Linux. */
const NANOS_PER_TICK = 10_000_000;

async function systemCpuNanos(): Promise<number> {
  const line = (await readFile("/proc/stat", "utf8")).split("\n")[0] ?? "";
  const ticks = line
    .split(/\s+/)
    .slice(1, 8)
    .reduce((sum, value) => sum + (Number(value) || 0), 0);
  return ticks * NANOS_PER_TICK;
}

/** The interfaces of a process's network namespace but loopback, from /proc/<pid>/net/dev. */
export function parseNetDev(text: string): Record<string, NetworkCounters> {
  const interfaces: Record<string, NetworkCounters> = {};
  for (const line of text.split("\n").slice(2)) {
    const [name, rest] = line.split(":");
    if (rest === undefined || name === undefined || name.trim() === "lo") continue;
    const f = rest.trim().split(/\s+/).map(Number);
    interfaces[name.trim()] = {
      rx_bytes: f[0] ?? 0,
      rx_packets: f[1] ?? 0,
      rx_errors: f[2] ?? 0,
      rx_dropped: f[3] ?? 0,
      tx_bytes: f[8] ?? 0,
      tx_packets: f[9] ?? 0,
      tx_errors: f[10] ?? 0,
      tx_dropped: f[11] ?? 0,
    };
  }
  return interfaces;
}

export class StatsReader {
  readonly #previous = new Map<string, Reading>();

  async read(input: StatsInput): Promise<Record<string, unknown>> {
    const at = new Date();
    const systemNanos = await systemCpuNanos();
    const networks =
      input.pid === undefined
        ? {}
        : parseNetDev(await readFile(`/proc/${input.pid}/net/dev`, "utf8").catch(() => ""));
    const eth0 = networks.eth0;
    const previous = this.#previous.get(input.id);
    this.#previous.set(input.id, {
      at,
      cpuNanos: input.usage.cpuNanos,
      systemNanos,
      ...(eth0 === undefined ? {} : { network: eth0 }),
    });
    const online = cpus().length;
    const seconds = previous === undefined ? 0 : (at.getTime() - previous.at.getTime()) / 1000;
    const rate = (key: "rx_bytes" | "tx_bytes"): number =>
      eth0 === undefined || previous?.network === undefined || seconds <= 0
        ? 0
        : (eth0[key] - previous.network[key]) / seconds;
    return {
      read: at.toISOString(),
      preread: (previous?.at ?? new Date(0)).toISOString(),
      pids_stats: { current: input.usage.pids },
      cpu_stats: {
        cpu_usage: { total_usage: input.usage.cpuNanos },
        system_cpu_usage: systemNanos,
        online_cpus: online,
      },
      precpu_stats: {
        cpu_usage: { total_usage: previous?.cpuNanos ?? 0 },
        system_cpu_usage: previous?.systemNanos ?? 0,
        online_cpus: online,
      },
      memory_stats: { usage: input.usage.memoryBytes, limit: input.memoryLimitBytes },
      name: input.name,
      id: input.id,
      networks,
      network_rate_stats: {
        rx_bytes_per_sec: rate("rx_bytes"),
        tx_bytes_per_sec: rate("tx_bytes"),
      },
    };
  }

  forget(id: string): void {
    this.#previous.delete(id);
  }
}
