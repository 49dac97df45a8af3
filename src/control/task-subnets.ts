/**
 * Task addresses are the control plane's: the task CIDR (`berth up --task-cidr`, default
 * 100.64.0.0/10) is cut into one block per cluster (a /18, or the whole CIDR when smaller), and
 * a block into one subnet per host (a /24, or the whole block) that the host's first task of the
 * cluster takes. The agent hands out addresses only inside the subnet it is given, so every task
 * address is unique across hosts. Both are stored (a restarted server hands out the same), a
 * host's go when it is lost, a cluster's when it is deleted. Placements running at once on
 * PostgreSQL pass over a block or subnet another transaction is cutting (`claimFreeMany`) rather
 * than wait on it and fail.
 *
 * Choosing is pure (`nextFree`); the machine check a block needs (no route of this machine
 * covers it, no other Berth here claimed it) is the server's, given as `claimBlock`.
 */
import type { Transaction } from "kysely";
import {
  BerthError,
  cidrSize,
  formatCidr,
  parseCidr,
  subnetsOf,
  type Cidr,
} from "../core/index.js";
import { tryClaimFirstKey, tryClaimKeys, type Database, type Store } from "../store/index.js";

export const DEFAULT_TASK_CIDR = "100.64.0.0/10";
const BLOCK_PREFIX = 18;
const HOST_SUBNET_PREFIX = 24;
/** The shared address space: what every VNI is counted from. */
const SHARED_BASE = (parseCidr(DEFAULT_TASK_CIDR) as Cidr).base;

export interface TaskAddressSpace {
  /** The task CIDR blocks are cut from. */
  pool: string;
  /**
   * Claims a block on this machine (false: a route or another Berth here has it); absent, every
   * block is free.
   */
  claimBlock?(block: string): Promise<boolean>;
  /** Gives a block's machine claim back. */
  releaseBlock?(block: string): void;
}

export const defaultAddressSpace: TaskAddressSpace = { pool: DEFAULT_TASK_CIDR };

/** The first of `candidates` that overlaps none of `taken`. */
export function nextFree(candidates: Iterable<Cidr>, taken: Cidr[]): Cidr | undefined {
  const free = overlapsNone(taken);
  for (const candidate of candidates) if (free(candidate)) return candidate;
  return undefined;
}

/**
 * Whether a network overlaps none of `taken`, each taken network's end reckoned once: a host
 * subnet's cut tested 64 candidates against up to 64 taken with `overlaps`, two powers of two
 * a pair (1.3% of the server in bench:placement while its 79 clusters' blocks filled).
 */
function overlapsNone(taken: readonly Cidr[]): (candidate: Cidr) => boolean {
  const starts = taken.map((used) => used.base);
  const ends = taken.map((used) => used.base + cidrSize(used.prefix));
  return (candidate) => {
    const start = candidate.base;
    const end = start + cidrSize(candidate.prefix);
    for (let at = 0; at < starts.length; at++)
      if (start < (ends[at] as number) && (starts[at] as number) < end) return false;
    return true;
  };
}

export function clusterBlocks(pool: Cidr): Generator<Cidr> {
  return subnetsOf(pool, BLOCK_PREFIX);
}

export function hostSubnets(block: Cidr): Generator<Cidr> {
  return subnetsOf(block, HOST_SUBNET_PREFIX);
}

/**
 * A cluster's VXLAN network identifier: its block's place in 100.64.0.0/10 counted in /29s,
 * unique on a machine because blocks are (and within the VNI's 24 bits).
 */
export function vniOf(block: string): number {
  return Math.floor(((parseCidr(block) as Cidr).base - SHARED_BASE) / 8) + 1;
}

/** No room left for a cluster or for a host of it: the task cannot be placed with an address. */
export class TaskSubnetsExhausted extends BerthError {
  constructor(message: string) {
    super("TaskSubnetsExhausted", message, { fault: "server" });
  }
}

/** A cluster's block (none before its first task) and every host's subnet of it. */
export interface ClusterSubnets {
  block?: string;
  held: Map<string, string>;
}

/**
 * `clusterArn`'s block and all its hosts' subnets in one query: a block holds at most 64 (a /18
 * of /24s). What a placement needs to know of its hosts' subnets, and what cutHostSubnets needs
 * to cut new ones: three statements before (the hosts' subnets, the block, those taken).
 */
export async function clusterSubnets(
  trx: Transaction<Database>,
  clusterArn: string,
): Promise<ClusterSubnets> {
  const rows = await trx
    .selectFrom("cluster_blocks")
    .leftJoin("host_subnets", "host_subnets.cluster_arn", "cluster_blocks.cluster_arn")
    .select(["cluster_blocks.block", "host_subnets.host_id", "host_subnets.subnet"])
    .where("cluster_blocks.cluster_arn", "=", clusterArn)
    .execute();
  const held = new Map<string, string>();
  for (const row of rows)
    if (row.host_id !== null && row.subnet !== null) held.set(row.host_id, row.subnet);
  return rows[0] === undefined ? { held } : { block: rows[0].block, held };
}

/**
 * New subnets of `clusterArn`'s block (and the block, if it has none) for `hostIds`, which hold
 * none: the block read, what is taken read (or both given as `known`, from clusterSubnets) and
 * the subnets claimed and inserted once for all of them, not once per host. Those the block has
 * no subnet left for are not in `cut`; `full` says why. Throws TaskSubnetsExhausted when the
 * cluster has no block and none is left.
 */
export async function cutHostSubnets(
  trx: Transaction<Database>,
  space: TaskAddressSpace,
  clusterArn: string,
  hostIds: readonly string[],
  now: number,
  known?: ClusterSubnets,
): Promise<{ cut: Map<string, string>; full?: string }> {
  const block = parseCidr(known?.block ?? (await blockFor(trx, space, clusterArn, now))) as Cidr;
  const taken =
    known === undefined
      ? (
          await trx
            .selectFrom("host_subnets")
            .select("subnet")
            .where("cluster_arn", "=", clusterArn)
            .execute()
        ).map((t) => t.subnet)
      : [...known.held.values()];
  const chosen = await claimFreeMany(
    trx,
    SUBNET_CLAIMS,
    hostSubnets(block),
    cidrs(taken),
    hostIds.length,
  );
  const cut = new Map(chosen.map((subnet, at) => [hostIds[at] as string, formatCidr(subnet)]));
  for (let at = 0; at < chosen.length; at += 500)
    await trx
      .insertInto("host_subnets")
      .values(
        [...cut].slice(at, at + 500).map(([hostId, subnet]) => ({
          cluster_arn: clusterArn,
          host_id: hostId,
          subnet,
          created_at: now,
        })),
      )
      .execute();
  return chosen.length < hostIds.length
    ? {
        cut,
        full: `the cluster's block ${formatCidr(block)} has no subnet left for another host`,
      }
    : { cut };
}

/**
 * Up to `count` of `candidates` that overlap none of `taken` (what has committed), those no other
 * transaction is cutting now first: claimed for the rest of this one (in a statement per try of
 * as many as are still wanted). Placements at once on PostgreSQL all read the same `taken`; each
 * taking the first free ones, all but one would wait on the unique subnet for the first to end,
 * fail, and be run again from the start, so that one cluster's placements went one after
 * another. When every free one is being cut, those (their unique constraint decides).
 */
async function claimFreeMany(
  trx: Transaction<Database>,
  space: number,
  candidates: Iterable<Cidr>,
  taken: Cidr[],
  count: number,
): Promise<Cidr[]> {
  const free: Cidr[] = [];
  const untaken = overlapsNone(taken);
  for (const candidate of candidates) if (untaken(candidate)) free.push(candidate);
  const claimed: Cidr[] = [];
  const cutElsewhere: Cidr[] = [];
  for (let at = 0; at < free.length && claimed.length < count;) {
    const trying = free.slice(at, at + count - claimed.length);
    at += trying.length;
    const won = await tryClaimKeys(
      trx,
      space,
      trying.map((candidate) => candidate.base),
    );
    for (const [i, candidate] of trying.entries())
      (won[i] === true ? claimed : cutElsewhere).push(candidate);
  }
  return [...claimed, ...cutElsewhere].slice(0, count);
}

async function blockFor(
  trx: Transaction<Database>,
  space: TaskAddressSpace,
  clusterArn: string,
  now: number,
): Promise<string> {
  const held = await trx
    .selectFrom("cluster_blocks")
    .select("block")
    .where("cluster_arn", "=", clusterArn)
    .executeTakeFirst();
  if (held !== undefined) return held.block;
  const pool = parseCidr(space.pool);
  if (pool === undefined)
    throw new BerthError("InvalidTaskCidr", `invalid task CIDR ${space.pool}`);
  const taken = cidrs(
    (await trx.selectFrom("cluster_blocks").select("block").execute()).map((b) => b.block),
  );
  // Blocks other transactions are cutting now come last (see claimFreeMany). The first free
  // one no other is cutting is claimed in one statement: a statement per candidate was 1,062
  // of a run's 5,000 in bench:placement on PostgreSQL, where the first RunTasks of 79 clusters
  // each passed over the blocks the others were cutting.
  const free = [...clusterBlocks(pool)].filter(overlapsNone(taken));
  const cutElsewhere: Cidr[] = [];
  const usable = async (candidate: Cidr): Promise<boolean> =>
    space.claimBlock === undefined || (await space.claimBlock(formatCidr(candidate)));
  for (let at = 0; at < free.length;) {
    const won = await tryClaimFirstKey(
      trx,
      BLOCK_CLAIMS,
      free.slice(at).map((candidate) => candidate.base),
    );
    if (won < 0) {
      cutElsewhere.push(...free.slice(at));
      break;
    }
    cutElsewhere.push(...free.slice(at, at + won));
    const candidate = free[at + won] as Cidr;
    at += won + 1;
    if (await usable(candidate)) return insertBlock(trx, clusterArn, candidate, now);
  }
  for (const candidate of cutElsewhere)
    if (await usable(candidate)) return insertBlock(trx, clusterArn, candidate, now);
  throw new TaskSubnetsExhausted(
    `no free block left in the task CIDR ${space.pool} for another cluster`,
  );
}

async function insertBlock(
  trx: Transaction<Database>,
  clusterArn: string,
  candidate: Cidr,
  now: number,
): Promise<string> {
  const block = formatCidr(candidate);
  await trx
    .insertInto("cluster_blocks")
    .values({ cluster_arn: clusterArn, block, created_at: now })
    .execute();
  return block;
}

/**
 * Claim spaces (store `tryClaimKey`) of the subnets and blocks transactions are cutting now,
 * keyed by base address: "BRTS" and "BRTB".
 */
const SUBNET_CLAIMS = 0x42525453;
const BLOCK_CLAIMS = 0x42525442;

/** A lost host's subnets go back to their blocks (it gets new ones if it comes back). */
export async function releaseHostSubnets(
  trx: Transaction<Database> | Store,
  hostId: string,
): Promise<void> {
  await trx.deleteFrom("host_subnets").where("host_id", "=", hostId).execute();
}

/** A deleted cluster's block and subnets go, and the block's claim on this machine. */
export async function releaseClusterBlock(
  store: Store,
  space: TaskAddressSpace,
  clusterArn: string,
): Promise<void> {
  const block = await store.transaction().execute(async (trx) => {
    const row = await trx
      .selectFrom("cluster_blocks")
      .select("block")
      .where("cluster_arn", "=", clusterArn)
      .executeTakeFirst();
    await trx.deleteFrom("host_subnets").where("cluster_arn", "=", clusterArn).execute();
    await trx.deleteFrom("cluster_blocks").where("cluster_arn", "=", clusterArn).execute();
    return row?.block;
  });
  if (block !== undefined) space.releaseBlock?.(block);
}

function cidrs(texts: string[]): Cidr[] {
  return texts.map((text) => parseCidr(text)).filter((c): c is Cidr => c !== undefined);
}
