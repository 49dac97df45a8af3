/**
 * A task's share of the host's kernel tables: its pids limit and its open-file limit are sized
 * from the host's `pid_max` and `file-max` in proportion to the share of the host it reserved
 * (the larger of its CPU and memory shares), after a reserve kept for Berth and the host.
 * A fixed 4,096 pids per task let 8 quarter-core tasks take this host's whole `pid_max`.
 * Descriptors are also charged to the task's memory cgroup (kmem, always on in cgroup v1 on
 * kernels since 5.x and in v2), so its memory limit bounds them in total as well; v1's separate
 * kmem limit is deprecated and not set.
 */
import { readFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";

export interface HostTables {
  /** /proc/sys/kernel/pid_max */
  pidMax: number;
  /** /proc/sys/fs/file-max */
  fileMax: number;
  /** The host's CPU (1024 a core) and memory, which task shares are measured against. */
  cpuUnits: number;
  memoryMiB: number;
  /**
   * The most RLIMIT_NOFILE this agent can give a container: fs.nr_open, and its own hard limit
   * when it lacks CAP_SYS_RESOURCE (runc raises the limit from the agent's side; past this it
   * fails with EPERM and the task could not start).
   */
  nofileGrantable?: number;
}

export interface TaskTableLimits {
  pidsLimit: number;
  /** The most a container of the task may set RLIMIT_NOFILE to. */
  nofile: number;
}

/** Fargate-sized ceilings: no task gets more than these, however large its share. */
export const MAX_TASK_PIDS = 4096;
/** Fargate's nofile hard limit. */
export const MAX_TASK_NOFILE = 1_048_576;
/** Floors, so that a tiny task on a large host still runs a shell and its children. */
const MIN_TASK_PIDS = 64;
const MIN_TASK_NOFILE = 1024;

/** What stays for Berth and the host: a quarter of each table, and at least this much. */
const RESERVE_SHARE = 0.25;
const MIN_PID_RESERVE = 4096;
const MIN_FILE_RESERVE = 65_536;

/** The pids and open-file limits of a task of `cpu` units and `memoryMiB` on `host`. */
export function taskTableLimits(
  host: HostTables,
  task: { cpu?: number; memoryMiB?: number },
): TaskTableLimits {
  // A task without a size is counted as the whole host (a test's sandbox): the ceilings apply.
  const cpuShare = task.cpu === undefined ? 1 : task.cpu / Math.max(1, host.cpuUnits);
  const memoryShare =
    task.memoryMiB === undefined ? 1 : task.memoryMiB / Math.max(1, host.memoryMiB);
  const share = Math.min(1, Math.max(cpuShare, memoryShare));
  const usable = (total: number, minReserve: number): number =>
    Math.max(0, total - Math.max(minReserve, Math.floor(total * RESERVE_SHARE)));
  const pids = Math.floor(usable(host.pidMax, MIN_PID_RESERVE) * share);
  const files = Math.floor(usable(host.fileMax, MIN_FILE_RESERVE) * share);
  return {
    pidsLimit: Math.min(MAX_TASK_PIDS, Math.max(MIN_TASK_PIDS, pids)),
    nofile: Math.min(
      host.nofileGrantable ?? MAX_TASK_NOFILE,
      MAX_TASK_NOFILE,
      Math.max(MIN_TASK_NOFILE, files),
    ),
  };
}

function readNumber(file: string, fallback: number): number {
  try {
    const value = Number(readFileSync(file, "utf8").trim());
    return Number.isFinite(value) && value > 0 ? value : fallback;
  } catch {
    return fallback;
  }
}

const CAP_SYS_RESOURCE = 24n;

/** fs.nr_open, and this process's hard limit on open files unless it may raise it. */
function grantableNofile(): number {
  const nrOpen = readNumber("/proc/sys/fs/nr_open", MAX_TASK_NOFILE);
  try {
    const status = readFileSync("/proc/self/status", "utf8");
    const effective = BigInt(`0x${/^CapEff:\s*([0-9a-f]+)/m.exec(status)?.[1] ?? "0"}`);
    if ((effective >> CAP_SYS_RESOURCE) & 1n) return nrOpen;
    const hard = /^Max open files\s+\S+\s+(\d+)/m.exec(readFileSync("/proc/self/limits", "utf8"));
    return hard?.[1] === undefined ? nrOpen : Math.min(nrOpen, Number(hard[1]));
  } catch {
    return nrOpen;
  }
}

/** This host's tables and size. */
export function readHostTables(): HostTables {
  return {
    pidMax: readNumber("/proc/sys/kernel/pid_max", 32_768),
    fileMax: readNumber("/proc/sys/fs/file-max", 1_048_576),
    nofileGrantable: grantableNofile(),
    cpuUnits: cpus().length * 1024,
    memoryMiB: Math.floor(totalmem() / (1024 * 1024)),
  };
}
