/**
 * Builds a container's OCI runtime spec (the bundle's config.json) from a ContainerSpec: its
 * own PID, mount, IPC and UTS namespaces, the task's network namespace, runc's default masked
 * and read-only /proc and /sys paths, Docker's default capabilities and seccomp profile, the
 * container's cgroup under the task's, rlimits, and catatonit in front when asked.
 */
import { readFileSync } from "node:fs";
import type { CgroupVersion } from "./cgroups.js";
import { resolveCapabilities } from "./capabilities.js";
import { invalidSpec } from "./errors.js";
import { defaultSeccompProfile } from "./seccomp-profile.js";
import type { ContainerSpec, ContainerUlimit } from "./types.js";
import type { ResolvedUser } from "./user.js";

export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/** Where catatonit is bind-mounted in a container: under /dev, so a read-only rootfs is fine. */
export const INIT_PATH = "/dev/init";

/** runc's defaults (`runc spec`): kernel interfaces a container must not read or write. */
export const MASKED_PATHS = [
  "/proc/acpi",
  "/proc/asound",
  "/proc/kcore",
  "/proc/keys",
  "/proc/latency_stats",
  "/proc/timer_list",
  "/proc/timer_stats",
  "/proc/sched_debug",
  "/sys/firmware",
  "/proc/scsi",
];
export const READONLY_PATHS = [
  "/proc/bus",
  "/proc/fs",
  "/proc/irq",
  "/proc/sys",
  "/proc/sysrq-trigger",
];

const ULIMITS = new Set([
  "core",
  "cpu",
  "data",
  "fsize",
  "locks",
  "memlock",
  "msgqueue",
  "nice",
  "nofile",
  "nproc",
  "rss",
  "rtprio",
  "rttime",
  "sigpending",
  "stack",
]);

/**
 * Fargate's default nofile (soft and hard 65535) when the task definition sets none, lowered
 * to the agent's own hard limit: raising it needs CAP_SYS_RESOURCE, which a host may withhold.
 */
function defaultNofile(): ContainerUlimit {
  let hostHard = Infinity;
  try {
    const line = /Max open files\s+\S+\s+(\S+)/.exec(readFileSync("/proc/self/limits", "utf8"));
    if (line?.[1] && line[1] !== "unlimited") hostHard = Number(line[1]);
  } catch {
    // no /proc: keep Fargate's value
  }
  const limit = Math.min(65535, hostHard);
  return { name: "nofile", softLimit: limit, hardLimit: limit };
}

export interface SpecContext {
  rootfsPath: string;
  netnsPath: string;
  /** The PID namespace to join (the task's pause process's); absent: a new one. */
  pidnsPath?: string;
  cgroupsPath: string;
  cgroupVersion: CgroupVersion;
  user: ResolvedUser;
  /** Host files bind-mounted at /etc/hostname, /etc/hosts, /etc/resolv.conf. */
  etcFiles: { hostname: string; hosts: string; resolvConf: string };
  initBinary: string;
  /** The task's RLIMIT_NOFILE ceiling: its share of the host's file table (host-tables.ts). */
  nofileLimit?: number;
}

function rlimits(
  ulimits: ContainerUlimit[] = [],
  nofileLimit = Infinity,
): { type: string; soft: number; hard: number }[] {
  const list = (
    ulimits.some((u) => u.name === "nofile") ? ulimits : [...ulimits, defaultNofile()]
  ).map((u) =>
    // Fargate allows nofile up to 1048576 whatever the task's size; Berth caps it at the
    // task's share of the host's file table, so one task cannot take the host's.
    u.name === "nofile"
      ? {
          ...u,
          softLimit: Math.min(u.softLimit, nofileLimit),
          hardLimit: Math.min(u.hardLimit, nofileLimit),
        }
      : u,
  );
  return list.map((u) => {
    if (!ULIMITS.has(u.name)) throw invalidSpec(`unknown ulimit ${JSON.stringify(u.name)}`);
    if (u.softLimit > u.hardLimit) {
      throw invalidSpec(`ulimit ${u.name}: softLimit is above hardLimit`);
    }
    return { type: `RLIMIT_${u.name.toUpperCase()}`, soft: u.softLimit, hard: u.hardLimit };
  });
}

function environment(spec: ContainerSpec, user: ResolvedUser, hostname: string): string[] {
  const env: Record<string, string> = {
    PATH: DEFAULT_PATH,
    HOSTNAME: hostname,
    HOME: user.home,
    ...spec.env,
    ...spec.secretEnv,
  };
  return Object.entries(env).map(([key, value]) => `${key}=${value}`);
}

const MiB = 1024 * 1024;

function resources(spec: ContainerSpec): Record<string, unknown> {
  const memory: Record<string, number> = {};
  if (spec.memoryMiB !== undefined) {
    memory.limit = spec.memoryMiB * MiB;
    // memory+swap = memory: a container over its limit is OOM-killed, never swapped.
    memory.swap = spec.memoryMiB * MiB;
  }
  if (spec.memoryReservationMiB !== undefined) memory.reservation = spec.memoryReservationMiB * MiB;
  const cpu: Record<string, number> = {};
  if (spec.cpuShares !== undefined) cpu.shares = Math.max(2, Math.round(spec.cpuShares));
  return {
    devices: [{ allow: false, access: "rwm" }],
    memory,
    cpu,
  };
}

export function buildOciSpec(spec: ContainerSpec, ctx: SpecContext): Record<string, unknown> {
  if (spec.args.length === 0) throw invalidSpec(`container ${spec.name} has no command`);
  const hostname = spec.hostname ?? spec.id.slice(0, 12);
  const capabilities = resolveCapabilities(spec.capabilities?.add, spec.capabilities?.drop);
  const args = spec.initProcessEnabled ? [INIT_PATH, "-g", "--", ...spec.args] : spec.args;
  const namespaces: { type: string; path?: string }[] = [
    ctx.pidnsPath === undefined ? { type: "pid" } : { type: "pid", path: ctx.pidnsPath },
    { type: "mount" },
    { type: "ipc" },
    { type: "uts" },
    { type: "network", path: ctx.netnsPath },
  ];
  // Docker gives a private cgroup namespace on v2 and the host's on v1; so do we.
  if (ctx.cgroupVersion === 2) namespaces.push({ type: "cgroup" });

  const mounts: Record<string, unknown>[] = [
    { destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"] },
    {
      destination: "/dev",
      type: "tmpfs",
      source: "tmpfs",
      options: ["nosuid", "strictatime", "mode=755", "size=65536k"],
    },
    {
      destination: "/dev/pts",
      type: "devpts",
      source: "devpts",
      options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
    },
    {
      destination: "/dev/shm",
      type: "tmpfs",
      source: "shm",
      options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
    },
    {
      destination: "/dev/mqueue",
      type: "mqueue",
      source: "mqueue",
      options: ["nosuid", "noexec", "nodev"],
    },
    {
      destination: "/sys",
      type: "sysfs",
      source: "sysfs",
      options: ["nosuid", "noexec", "nodev", "ro"],
    },
    {
      destination: "/sys/fs/cgroup",
      type: "cgroup",
      source: "cgroup",
      options: ["nosuid", "noexec", "nodev", "relatime", "ro"],
    },
    bind(ctx.etcFiles.hostname, "/etc/hostname", false),
    bind(ctx.etcFiles.hosts, "/etc/hosts", false),
    bind(ctx.etcFiles.resolvConf, "/etc/resolv.conf", false),
    ...(spec.mounts ?? []).map((m) => bind(m.source, m.destination, m.readonly ?? false)),
  ];
  if (spec.initProcessEnabled) mounts.push(bind(ctx.initBinary, INIT_PATH, true));

  return {
    ociVersion: "1.0.2",
    process: {
      terminal: false,
      user: { uid: ctx.user.uid, gid: ctx.user.gid, additionalGids: ctx.user.additionalGids },
      args,
      env: environment(spec, ctx.user, hostname),
      cwd: spec.cwd || "/",
      capabilities: {
        bounding: capabilities,
        effective: capabilities,
        permitted: capabilities,
      },
      rlimits: rlimits(spec.ulimits, ctx.nofileLimit),
      noNewPrivileges: false,
      oomScoreAdj: 0,
    },
    root: { path: ctx.rootfsPath, readonly: spec.readonlyRootfs ?? false },
    hostname,
    mounts,
    annotations: {
      "berth.task-id": spec.taskId,
      "berth.container-name": spec.name,
      ...Object.fromEntries(
        Object.entries(spec.labels ?? {}).map(([key, value]) => [`label.${key}`, value]),
      ),
    },
    linux: {
      cgroupsPath: ctx.cgroupsPath,
      resources: resources(spec),
      namespaces,
      seccomp: defaultSeccompProfile(capabilities),
      maskedPaths: MASKED_PATHS,
      readonlyPaths: READONLY_PATHS,
    },
  };
}

function bind(source: string, destination: string, readonly: boolean): Record<string, unknown> {
  return {
    destination,
    type: "bind",
    source,
    options: ["rbind", "rprivate", ...(readonly ? ["ro"] : ["rw"]), "nosuid", "nodev"],
  };
}
