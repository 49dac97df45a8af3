/**
 * Prepared sandboxes (issue 18, item 1): per cluster and runtime, network namespaces made ahead
 * with an address on the cluster's network already attached (its link and port guard made),
 * so a launch takes one and pays for neither. Each is used by one task only and removed with
 * it, as a namespace made at launch is: nothing is shared between tasks.
 *
 * On disk an entry is what a task's network is: a namespace file `<run>/netns/pool-<id>` and an
 * attachment `network/attachments/pool-<id>.json`, so its address is allocated (its file under
 * `network/ipam/`) and never handed to another task. A launch claims it with one rename of the attachment
 * (bridge-network.ts `claim`), and its sandbox takes the namespace over (`netnsPath`). Entries a
 * killed agent left are removed by `reclaim` at the next start; `close` (agent shutdown)
 * removes every entry. Refilling makes the namespace and attaches it at nice 19 (its `ip`,
 * `nsenter` and `ebtables` runs), so that launches go first; the size follows the cluster's
 * launch rate (pool-sizing.ts), zero for a cluster idle for two minutes. The pool reserves no
 * CPU or memory: a host's capacity is what its tasks hold.
 */
import { randomUUID } from "node:crypto";
import { basename } from "node:path";
import type { Logger } from "../../core/index.js";
import type { TaskAssignment } from "../../protocol/index.js";
import { DEFAULT_POOL_SIZING, poolTarget, recentLaunches, type PoolSizing } from "./pool-sizing.js";
import type { PreparedSandbox, PreparedSandboxes, TaskAddress, TaskHost } from "./ports.js";

/** Names of prepared sandboxes: never an ECS task id (32 hex digits). */
export const PREPARED_PREFIX = "pool-";
const CHECK_MS = 5_000;

interface Entry {
  id: string;
  netnsPath: string;
  address: TaskAddress;
}

interface Pool {
  clusterArn: string;
  runtime: string | undefined;
  subnet: string | undefined;
  ready: Entry[];
  launches: number[];
  filling: Promise<void> | undefined;
}

export interface SandboxPoolOptions {
  host: TaskHost;
  log: Logger;
  now?: () => number;
  sizing?: PoolSizing;
}

export class SandboxPool implements PreparedSandboxes {
  readonly #host: TaskHost;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #sizing: PoolSizing;
  readonly #pools = new Map<string, Pool>();
  /** Removals under way (close waits for them). */
  readonly #removing = new Set<Promise<void>>();
  readonly #timer: NodeJS.Timeout;
  #closed = false;

  constructor(options: SandboxPoolOptions) {
    this.#host = options.host;
    this.#log = options.log;
    this.#now = options.now ?? Date.now;
    this.#sizing = options.sizing ?? DEFAULT_POOL_SIZING;
    this.#timer = setInterval(() => this.#resize(), CHECK_MS);
    this.#timer.unref();
  }

  /** Whether this host's runtime and network can prepare sandboxes at all. */
  static supported(host: TaskHost): boolean {
    return (
      host.runtime.prepareNamespace !== undefined &&
      host.runtime.removeNamespace !== undefined &&
      host.network.claim !== undefined
    );
  }

  /**
   * Removes what a killed agent left: every prepared attachment, and every prepared namespace no
   * sandbox took (a claim the agent did not live to finish). Before any task is adopted.
   */
  async reclaim(): Promise<void> {
    const { runtime, network } = this.#host;
    const namespaces = new Map(
      ((await runtime.namespaces?.()) ?? []).map((path) => [basename(path), path]),
    );
    for (const attachment of await network.attached()) {
      if (!attachment.taskId.startsWith(PREPARED_PREFIX)) continue;
      this.#log.info("removing a prepared sandbox a previous agent left", {
        id: attachment.taskId,
        address: attachment.address.privateIPv4Address,
      });
      await network
        .detach({
          taskId: attachment.taskId,
          clusterArn: attachment.clusterArn,
          netnsPath: namespaces.get(attachment.taskId) ?? "",
        })
        .catch((error: unknown) =>
          this.#log.warn("releasing a prepared address failed", { error: String(error) }),
        );
    }
    const taken = new Set((await runtime.list()).sandboxes.map((s) => s.netnsPath));
    for (const [name, path] of namespaces) {
      if (!name.startsWith(PREPARED_PREFIX) || taken.has(path)) continue;
      await runtime
        .removeNamespace?.(path)
        .catch((error: unknown) =>
          this.#log.warn("removing a prepared namespace failed", { error: String(error) }),
        );
    }
  }

  /**
   * A prepared sandbox for the task, now its own; undefined when its pool has none ready (the
   * launch makes its sandbox itself). Either way the launch counts towards the pool's size.
   */
  async take(assignment: TaskAssignment): Promise<PreparedSandbox | undefined> {
    if (this.#closed) return undefined;
    const pool = this.#pool(assignment);
    pool.launches.push(this.#now());
    if (assignment.subnet !== undefined) pool.subnet = assignment.subnet;
    let taken: PreparedSandbox | undefined;
    for (let entry = pool.ready.shift(); entry !== undefined; entry = pool.ready.shift()) {
      const address = await this.#host.network
        .claim?.(entry.id, assignment.taskId, assignment.subnet)
        .catch(() => undefined);
      if (address !== undefined) {
        taken = { netnsPath: entry.netnsPath, address };
        break;
      }
      // Its cluster moved to another subnet (or it is gone): of no use to anyone.
      this.#remove(pool, entry);
    }
    this.#fill(pool);
    return taken;
  }

  /** Stops refilling and removes every entry (agent shutdown). */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    await Promise.allSettled(
      [...this.#pools.values()].map((pool) => pool.filling ?? Promise.resolve()),
    );
    for (const pool of this.#pools.values())
      for (const entry of pool.ready.splice(0)) this.#remove(pool, entry);
    await Promise.allSettled([...this.#removing]);
  }

  #pool(assignment: TaskAssignment): Pool {
    const key = `${assignment.clusterArn}\n${assignment.runtime ?? ""}`;
    let pool = this.#pools.get(key);
    if (pool === undefined) {
      pool = {
        clusterArn: assignment.clusterArn,
        runtime: assignment.runtime,
        subnet: assignment.subnet,
        ready: [],
        launches: [],
        filling: undefined,
      };
      this.#pools.set(key, pool);
    }
    return pool;
  }

  #target(pool: Pool): number {
    return poolTarget(pool.launches, this.#now(), subnetAddresses(pool.subnet), this.#sizing);
  }

  /** Shrinks pools whose clusters launch less (to nothing once idle) and tops the others up. */
  #resize(): void {
    if (this.#closed) return;
    for (const [key, pool] of this.#pools) {
      pool.launches = recentLaunches(pool.launches, this.#now(), this.#sizing);
      const target = this.#target(pool);
      while (pool.filling === undefined && pool.ready.length > target) {
        const entry = pool.ready.pop();
        if (entry !== undefined) this.#remove(pool, entry);
      }
      if (target === 0 && pool.ready.length === 0 && pool.filling === undefined)
        this.#pools.delete(key);
      else this.#fill(pool);
    }
  }

  /** Makes entries one at a time until the pool has its size. */
  #fill(pool: Pool): void {
    if (pool.filling !== undefined || this.#closed) return;
    pool.filling = (async () => {
      while (!this.#closed && pool.ready.length < this.#target(pool)) {
        const entry = await this.#make(pool);
        if (this.#closed) this.#remove(pool, entry);
        else pool.ready.push(entry);
      }
    })()
      .catch((error: unknown) =>
        // Tried again at the next check; launches make their own sandboxes meanwhile.
        this.#log.warn("preparing a sandbox failed", {
          clusterArn: pool.clusterArn,
          error: error instanceof Error ? error.message : String(error),
        }),
      )
      .finally(() => (pool.filling = undefined));
  }

  async #make(pool: Pool): Promise<Entry> {
    const { runtime, network } = this.#host;
    const id = `${PREPARED_PREFIX}${randomUUID().replaceAll("-", "").slice(0, 24)}`;
    const netnsPath = await (
      runtime.prepareNamespace as NonNullable<typeof runtime.prepareNamespace>
    )(id, { background: true });
    const target = {
      taskId: id,
      clusterArn: pool.clusterArn,
      netnsPath,
      ...(pool.subnet === undefined ? {} : { subnet: pool.subnet }),
    };
    try {
      // At the lowest CPU priority too (its `ip` and `ebtables` runs): it holds no lock a
      // launch or a stop waits for.
      const address = await network.attach({ ...target, background: true });
      return { id, netnsPath, address };
    } catch (error) {
      await network.detach(target).catch(() => undefined);
      await runtime.removeNamespace?.(netnsPath).catch(() => undefined);
      throw error;
    }
  }

  /** Detaches the entry (its address is free once its link is gone), then removes its namespace. */
  #remove(pool: Pool, entry: Entry): void {
    const { runtime, network } = this.#host;
    const removal = (async () => {
      await network.detach({
        taskId: entry.id,
        clusterArn: pool.clusterArn,
        netnsPath: entry.netnsPath,
      });
      await runtime.removeNamespace?.(entry.netnsPath);
    })()
      .catch((error: unknown) =>
        this.#log.warn("removing a prepared sandbox failed", {
          id: entry.id,
          error: String(error),
        }),
      )
      .finally(() => this.#removing.delete(removal));
    this.#removing.add(removal);
  }
}

/** How many addresses a subnet has (a host's own /24 when the server gave none). */
function subnetAddresses(subnet: string | undefined): number {
  const prefix = Number(subnet?.split("/")[1] ?? 24);
  return Number.isInteger(prefix) && prefix >= 0 && prefix <= 32 ? 2 ** (32 - prefix) : 0;
}
