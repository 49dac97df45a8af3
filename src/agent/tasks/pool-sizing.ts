/**
 * How many prepared sandboxes a (cluster, runtime) pool keeps, from its recent launches: pure,
 * so the rule is tested apart from the namespaces and addresses it sizes.
 *
 * A pool holds what the next `leadMs` of launches will take at the rate of the last `windowMs`
 * (at least one while the cluster launched in the last `idleMs`), never more than `max` nor a
 * sixteenth of its subnet's addresses (a small subnet's addresses are the tasks'); nothing once
 * the cluster has been idle for `idleMs`.
 */

export interface PoolSizing {
  /** The launches the rate is taken over. */
  windowMs: number;
  /** How far ahead the pool covers launches: about the time one entry takes to make. */
  leadMs: number;
  /** No launch for this long: the pool empties. */
  idleMs: number;
  /** Most entries per pool. */
  max: number;
}

export const DEFAULT_POOL_SIZING: PoolSizing = {
  windowMs: 30_000,
  leadMs: 2_000,
  idleMs: 120_000,
  max: 8,
};

/** The launches still inside the window (older ones no longer count). */
export function recentLaunches(
  launches: readonly number[],
  now: number,
  sizing: PoolSizing = DEFAULT_POOL_SIZING,
): number[] {
  const since = now - Math.max(sizing.windowMs, sizing.idleMs);
  return launches.filter((at) => at > since && at <= now);
}

/**
 * The pool's size now. `launches`: when its launches happened (ms); `subnetAddresses`: how many
 * addresses the cluster's subnet on this host has.
 */
export function poolTarget(
  launches: readonly number[],
  now: number,
  subnetAddresses: number,
  sizing: PoolSizing = DEFAULT_POOL_SIZING,
): number {
  const last = Math.max(-Infinity, ...launches.filter((at) => at <= now));
  if (now - last >= sizing.idleMs) return 0;
  const inWindow = launches.filter((at) => at > now - sizing.windowMs && at <= now).length;
  const perMs = inWindow / sizing.windowMs;
  const wanted = Math.max(1, Math.ceil(perMs * sizing.leadMs));
  const ceiling = Math.min(sizing.max, Math.floor(Math.max(0, subnetAddresses) / 16));
  return Math.min(wanted, ceiling);
}
