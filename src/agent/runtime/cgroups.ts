/**
 * Task-level cgroups: one cgroup per task under a parent (`/berth`), holding the task's CPU
 * quota, memory hard limit and pids limit. runc creates each container's cgroup below it (the
 * bundle's cgroupsPath), so the task's limits bound all its containers together.
 *
 * Both layouts: cgroup v1 (one hierarchy per controller, as on this machine) and the unified v2
 * hierarchy, detected by /sys/fs/cgroup/cgroup.controllers.
 */
import { existsSync, readdirSync } from "node:fs";
import { mkdir, readFile, rmdir, writeFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { BerthError } from "../../core/index.js";
import { RuntimeErrorCode } from "./errors.js";

export const CGROUP_ROOT = "/sys/fs/cgroup";
/** The parent of every task's cgroup: `/berth/<taskId>`. */
export const DEFAULT_CGROUP_PARENT = "berth";
/** The CFS period; 100 ms as Docker and ECS use. */
export const CFS_PERIOD_US = 100_000;

export type CgroupVersion = 1 | 2;

function cgroupsUnavailable(why: string, cause?: unknown): BerthError {
  return new BerthError(
    RuntimeErrorCode.CgroupsUnavailable,
    `this host's cgroups cannot be managed: ${why}. The agent runs as root with the cgroup hierarchies (cpu, memory, pids) mounted read-write under ${CGROUP_ROOT}.`,
    { fault: "server", cause },
  );
}

export function detectCgroupVersion(root = CGROUP_ROOT): CgroupVersion {
  return existsSync(join(root, "cgroup.controllers")) ? 2 : 1;
}

/** CPU units (1024 a core) as a CFS quota in microseconds per period; at least 1 ms. */
export function cpuQuotaUs(units: number): number {
  return Math.max(1000, Math.round((units / 1024) * CFS_PERIOD_US));
}

export interface TaskLimits {
  cpu?: number;
  memoryMiB?: number;
  pidsLimit: number;
}

/**
 * The v1 hierarchies mounted under /sys/fs/cgroup (cpu, memory, name=systemd, ...), and on a
 * hybrid host the v2 one at `unified`, where runc creates each container's cgroup as well.
 */
function v1Hierarchies(root: string): string[] {
  return readdirSync(root, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => join(root, entry.name));
}

export class TaskCgroups {
  readonly version: CgroupVersion;

  constructor(
    /** The parent of every task cgroup, relative to the root, without slashes (`berth`). */
    readonly parent: string,
    version?: CgroupVersion,
    /** The cgroup mount; another directory only in tests. */
    readonly root: string = CGROUP_ROOT,
  ) {
    this.version = version ?? detectCgroupVersion(root);
  }

  /** The cgroupsPath of a task (`/berth/<taskId>`) and of a container in it. */
  taskPath(taskId: string): string {
    return `/${this.parent}/${taskId}`;
  }

  containerPath(taskId: string, containerId: string): string {
    return `${this.taskPath(taskId)}/${containerId}`;
  }

  async create(taskId: string, limits: TaskLimits): Promise<void> {
    const rel = this.taskPath(taskId);
    if (this.version === 2) {
      await this.enableV2Controllers(`/${this.parent}`);
      const dir = join(this.root, rel);
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, "cgroup.subtree_control"), "+cpu +memory +pids");
      const quota = limits.cpu === undefined ? "max" : String(cpuQuotaUs(limits.cpu));
      await writeFile(join(dir, "cpu.max"), `${quota} ${CFS_PERIOD_US}`);
      if (limits.memoryMiB !== undefined) {
        await writeFile(join(dir, "memory.max"), String(limits.memoryMiB * 1024 * 1024));
        await writeFile(join(dir, "memory.swap.max"), "0").catch(() => undefined);
      }
      await writeFile(join(dir, "pids.max"), String(limits.pidsLimit));
      return;
    }
    // The hierarchies side by side: each is its own chain of a mkdir and a write or two, and
    // one after another they were nine waits for the thread pool on a launch's path. All are
    // settled before a failure is thrown: the caller's clean-up must not race a mkdir.
    await settleAll([
      (async () => {
        const cpu = join(this.root, "cpu", rel);
        await mkdir(cpu, { recursive: true });
        await writeFile(join(cpu, "cpu.cfs_period_us"), String(CFS_PERIOD_US));
        if (limits.cpu !== undefined)
          await writeFile(join(cpu, "cpu.cfs_quota_us"), String(cpuQuotaUs(limits.cpu)));
      })(),
      mkdir(join(this.root, "cpuacct", rel), { recursive: true }).catch(() => undefined),
      (async () => {
        const memory = join(this.root, "memory", rel);
        await mkdir(memory, { recursive: true });
        if (limits.memoryMiB === undefined) return;
        const bytes = String(limits.memoryMiB * 1024 * 1024);
        await writeFile(join(memory, "memory.limit_in_bytes"), bytes);
        // memory+swap equal to memory: the task cannot swap its way past its limit.
        await writeFile(join(memory, "memory.memsw.limit_in_bytes"), bytes).catch(() => undefined);
      })(),
      (async () => {
        const pids = join(this.root, "pids", rel);
        await mkdir(pids, { recursive: true });
        await writeFile(join(pids, "pids.max"), String(limits.pidsLimit));
      })(),
    ]);
  }

  /**
   * Makes and removes a probe cgroup wherever a task's cgroup goes, so that an agent that cannot
   * manage cgroups (no hierarchy mounted, read-only, not root) refuses to start with the reason
   * instead of failing every task's start, and retrying, for ever (issue 13 #17).
   */
  async probe(): Promise<void> {
    const bases =
      this.version === 2
        ? [this.root]
        : ["cpu", "memory", "pids"].map((controller) => join(this.root, controller));
    for (const base of bases) {
      // A hierarchy is there already; mkdir -p would make a plain directory where none is.
      if (!existsSync(base))
        throw cgroupsUnavailable(`${base} is not there (no cgroup hierarchy is mounted)`);
      const probe = join(base, this.parent, `probe-${process.pid}`);
      try {
        await mkdir(probe, { recursive: true });
        await rmdir(probe);
      } catch (error) {
        throw cgroupsUnavailable(`cannot make ${probe}: ${(error as Error).message}`, error);
      }
    }
  }

  private async enableV2Controllers(parentRel: string): Promise<void> {
    const want = "+cpu +memory +pids";
    await writeFile(join(this.root, "cgroup.subtree_control"), want).catch(() => undefined);
    const dir = join(this.root, parentRel);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "cgroup.subtree_control"), want);
  }

  /**
   * Kills every process of the cgroup at `rel` (and below) at once, whatever they do: a
   * SIGKILL to a container's init alone waits behind thousands of runnable processes under a
   * small CPU quota (a fork bomb). So the cgroup is frozen (nothing forks or runs), each
   * process gets SIGKILL, the CPU quotas of `unthrottle` (the container's, the task's) are
   * lifted so that their exits are not throttled, and the cgroup is thawed: they die at once.
   * On v2, `cgroup.kill` does the same in the kernel.
   */
  async killAll(rel: string, unthrottle: string[]): Promise<void> {
    if (this.version === 2) {
      for (const quota of unthrottle)
        await writeFile(join(this.root, quota, "cpu.max"), "max").catch(() => undefined);
      await writeFile(join(this.root, rel, "cgroup.kill"), "1").catch(() => undefined);
      return;
    }
    const freezer = join(this.root, "freezer", rel);
    const state = join(freezer, "freezer.state");
    const frozen = await writeFile(state, "FROZEN").then(
      () => true,
      () => false,
    );
    // FREEZING until every task stopped; a bounded wait, the kills below work either way.
    for (let i = 0; frozen && i < 100; i++) {
      if ((await readFile(state, "utf8").catch(() => "")).trim() !== "FREEZING") break;
      await sleep(20);
    }
    for (const pid of await cgroupPids(frozen ? freezer : join(this.root, "pids", rel))) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone already
      }
    }
    for (const quota of unthrottle)
      await writeFile(join(this.root, "cpu", quota, "cpu.cfs_quota_us"), "-1").catch(
        () => undefined,
      );
    if (frozen) await writeFile(state, "THAWED").catch(() => undefined);
  }

  /** Removes a cgroup (task or container) in every hierarchy, deepest first. */
  async remove(rel: string): Promise<void> {
    const bases = this.version === 2 ? [this.root] : v1Hierarchies(this.root);
    await settleAll(bases.map((base) => removeTree(join(base, rel))));
  }

  /** Every cgroup directory under the parent, over all hierarchies. */
  async count(): Promise<number> {
    const bases = this.version === 2 ? [this.root] : v1Hierarchies(this.root);
    let total = 0;
    for (const base of bases) total += await countDirs(join(base, this.parent));
    return total;
  }

  async usage(taskId: string): Promise<{ cpuNanos: number; memoryBytes: number; pids: number }> {
    return this.usageAt(this.taskPath(taskId));
  }

  /** CPU time, memory and processes of the cgroup at `rel` (a task's or a container's). */
  async usageAt(rel: string): Promise<{ cpuNanos: number; memoryBytes: number; pids: number }> {
    if (this.version === 2) {
      const stat = await readFile(join(this.root, rel, "cpu.stat"), "utf8");
      const usec = Number(/usage_usec (\d+)/.exec(stat)?.[1] ?? 0);
      return {
        cpuNanos: usec * 1000,
        memoryBytes: await readNumber(join(this.root, rel, "memory.current")),
        pids: await readNumber(join(this.root, rel, "pids.current")),
      };
    }
    return {
      cpuNanos: await readNumber(join(this.root, "cpuacct", rel, "cpuacct.usage")),
      memoryBytes: await readNumber(join(this.root, "memory", rel, "memory.usage_in_bytes")),
      pids: await readNumber(join(this.root, "pids", rel, "pids.current")),
    };
  }

  /**
   * How often the OOM killer killed a process of this cgroup; undefined when the cgroup is
   * gone. On v1 the kernel counts a kill in the victim's own memory cgroup whichever
   * ancestor's limit was hit, so a container's count is exact even under a task limit.
   */
  async oomKills(rel: string): Promise<number | undefined> {
    const file =
      this.version === 2
        ? join(this.root, rel, "memory.events")
        : join(this.root, "memory", rel, "memory.oom_control");
    try {
      const text = await readFile(file, "utf8");
      return Number(/oom_kill (\d+)/.exec(text)?.[1] ?? 0);
    } catch {
      return undefined;
    }
  }
}

/** The processes of a v1 cgroup directory and its children. */
async function cgroupPids(dir: string): Promise<number[]> {
  const pids: number[] = [];
  const text = await readFile(join(dir, "cgroup.procs"), "utf8").catch(() => "");
  for (const line of text.split("\n")) if (line !== "") pids.push(Number(line));
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const entry of entries)
    if (entry.isDirectory()) pids.push(...(await cgroupPids(join(dir, entry.name))));
  return pids;
}

async function readNumber(file: string): Promise<number> {
  try {
    return Number((await readFile(file, "utf8")).trim()) || 0;
  } catch {
    return 0;
  }
}

async function countDirs(dir: string): Promise<number> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  let total = 0;
  for (const entry of entries) {
    if (entry.isDirectory()) total += 1 + (await countDirs(join(dir, entry.name)));
  }
  return total;
}

/**
 * Removes the cgroup directory `dir` and those under it. Its rmdir is tried first: a cgroup
 * with no cgroup under it (a container's, or a task's once its containers' are gone) goes at
 * once, without its directory (some 30 control files a hierarchy) being listed. A cgroup stays
 * busy for a moment after its last process is reaped, so EBUSY is retried briefly.
 */
export async function removeTree(dir: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    let failure: NodeJS.ErrnoException;
    try {
      await rmdir(dir);
      return;
    } catch (error) {
      failure = error as NodeJS.ErrnoException;
    }
    if (failure.code === "ENOENT") return;
    if ((failure.code !== "EBUSY" && failure.code !== "ENOTEMPTY") || attempt >= 50) throw failure;
    // Cgroups under it go first (a cgroup with children is busy; a plain directory not empty).
    const children = (await readdir(dir, { withFileTypes: true }).catch(() => [])).filter((entry) =>
      entry.isDirectory(),
    );
    if (children.length > 0) await settleAll(children.map((c) => removeTree(join(dir, c.name))));
    else if (failure.code === "EBUSY") await sleep(20);
    else throw failure;
  }
}

/** Waits for every one, then throws the first failure: nothing is left running behind a throw. */
export async function settleAll(work: Array<Promise<unknown>>): Promise<void> {
  const failed = (await Promise.allSettled(work)).find((r) => r.status === "rejected");
  if (failed !== undefined) throw failed.reason;
}
