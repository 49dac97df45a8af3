/**
 * The Deployment controller's arithmetic (pure): the pod-template hash that names a ReplicaSet,
 * maxSurge / maxUnavailable resolved against the replica count, and one step of a rolling
 * update or a recreate — the replica counts each ReplicaSet should have now — as
 * kube-controller-manager's deployment controller computes them.
 */

/** kube's rand.SafeEncodeString alphabet: no vowels, no look-alikes. */
const ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789";

/** JSON with sorted keys: the same template hashes the same whatever order a client sent. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object")
    return `{${Object.keys(value)
      .sort()
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  return JSON.stringify(value);
}

/** The `pod-template-hash` label: FNV-1a (32 bits) of the template, safe-encoded as kube does. */
export function templateHash(template: unknown, collisionCount = 0): string {
  let hash = 0x811c9dc5;
  const bytes = Buffer.from(canonicalJson(template) + (collisionCount > 0 ? collisionCount : ""));
  for (const byte of bytes) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return [...String(hash)].map((c) => ALPHANUMS[c.charCodeAt(0) % ALPHANUMS.length]).join("");
}

/** An int-or-percent (`1`, `"25%"`) of `total`; percentages round up for surge, down otherwise. */
export function resolveIntOrPercent(
  value: unknown,
  total: number,
  roundUp: boolean,
  fallback: string,
): number {
  const v = value ?? fallback;
  if (typeof v === "number") return Math.max(0, Math.trunc(v));
  if (typeof v !== "string") return 0;
  const m = /^(\d+)%$/.exec(v);
  if (m === null) {
    const n = Number(v);
    return Number.isInteger(n) && n >= 0 ? n : 0;
  }
  const scaled = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(scaled) : Math.floor(scaled);
}

export interface RolloutInput {
  desired: number;
  strategy: "RollingUpdate" | "Recreate";
  maxSurge?: unknown;
  maxUnavailable?: unknown;
  /** The ReplicaSet of the current template. */
  current: { replicas: number; available: number };
  /** The older ReplicaSets, oldest first. */
  old: { name: string; replicas: number; available: number }[];
}

export interface RolloutStep {
  /** The replicas the current ReplicaSet should have. */
  current: number;
  /** Old ReplicaSets whose replicas change, with their new count. */
  old: Map<string, number>;
}

/** maxSurge and maxUnavailable for `desired` replicas; both zero would stall, so 1 unavailable. */
export function surgeAndUnavailable(input: RolloutInput): { surge: number; unavailable: number } {
  const surge = resolveIntOrPercent(input.maxSurge, input.desired, true, "25%");
  let unavailable = resolveIntOrPercent(input.maxUnavailable, input.desired, false, "25%");
  if (surge === 0 && unavailable === 0) unavailable = 1;
  return { surge, unavailable: Math.min(unavailable, input.desired) };
}

/**
 * One reconcile step: how many replicas each ReplicaSet should have now. As the deployment
 * controller does, a step that grows the new ReplicaSet changes nothing else; the old ones
 * shrink in a later step, once the new pods count (or not) as available.
 */
export function planRollout(input: RolloutInput): RolloutStep {
  const old = new Map<string, number>();
  const oldTotal = input.old.reduce((n, rs) => n + rs.replicas, 0);
  if (oldTotal === 0) return { current: input.desired, old };
  if (input.strategy === "Recreate") {
    // Every old pod goes first; the new ReplicaSet grows only once none is left.
    for (const rs of input.old) if (rs.replicas > 0) old.set(rs.name, 0);
    return { current: 0, old };
  }
  const { surge, unavailable } = surgeAndUnavailable(input);
  const current = input.current.replicas;
  if (current > input.desired) return { current: input.desired, old };
  if (current < input.desired) {
    const room = input.desired + surge - (current + oldTotal);
    if (room > 0) return { current: current + Math.min(room, input.desired - current), old };
  }
  const minAvailable = input.desired - unavailable;
  const newUnavailable = Math.max(0, current - input.current.available);
  let budget = current + oldTotal - minAvailable - newUnavailable;
  if (budget <= 0) return { current, old };
  const next = new Map(input.old.map((rs) => [rs.name, rs.replicas]));
  // Old pods that are not available go first: removing them costs no availability.
  for (const rs of input.old) {
    if (budget <= 0) break;
    const unhealthy = Math.min(budget, Math.max(0, rs.replicas - rs.available));
    next.set(rs.name, rs.replicas - unhealthy);
    budget -= unhealthy;
  }
  // Then available ones, while availability stays at or above desired - maxUnavailable.
  const available =
    input.current.available +
    input.old.reduce((n, rs) => n + Math.min(rs.available, next.get(rs.name) ?? 0), 0);
  let removable = available - minAvailable;
  for (const rs of input.old) {
    if (removable <= 0) break;
    const count = next.get(rs.name) ?? 0;
    const down = Math.min(count, removable);
    next.set(rs.name, count - down);
    removable -= down;
  }
  for (const rs of input.old)
    if (next.get(rs.name) !== rs.replicas) old.set(rs.name, next.get(rs.name) ?? 0);
  return { current, old };
}
