/**
 * Host failure detection: a host whose agent has not been heard from within the timeout is
 * LOST, and its tasks are STOPPED with the reason — so services start replacements elsewhere.
 * If the agent comes back, its `sync` no longer lists those tasks and it stops the stale copies.
 *
 * A server that has just become the leader has heard from no agent yet (it was down, or the
 * agents were connected to the leader that died), so silence is counted from when it began
 * watching when that is later than the last heartbeat: every host gets one whole timeout to
 * reconnect, as the Kubernetes node controller gives nodes it starts watching.
 */
import { dialectOf, type Store } from "../store/index.js";
import type { Fence } from "./leases.js";
import { releaseRoom } from "./placement.js";
import { readTask } from "./tasks.js";
import { releaseHostSubnets } from "./task-subnets.js";

export interface LostHost {
  hostId: string;
  taskArns: string[];
}

/** One ACTIVE host as liveness sees it: when it was last heard from (epoch ms; null: never). */
export interface HostHeard {
  hostId: string;
  lastSeenAt: number | null;
}

export interface LivenessPass {
  now: Date;
  timeoutMs: number;
  /** Hosts with an open channel to this server: alive, even if a heartbeat was slow to write. */
  connected: ReadonlySet<string>;
  /** When this server began judging liveness (it became the leader); the epoch if always. */
  watchingSince: Date;
}

/** Which of `hosts` are lost now (pure). */
export function planLostHosts(hosts: readonly HostHeard[], pass: LivenessPass): string[] {
  const cutoff = pass.now.getTime() - pass.timeoutMs;
  // Before one timeout of watching has passed, no host can have been silent for one.
  if (pass.watchingSince.getTime() >= cutoff) return [];
  return hosts
    .filter((host) => host.lastSeenAt === null || host.lastSeenAt < cutoff)
    .filter((host) => !pass.connected.has(host.hostId))
    .map((host) => host.hostId);
}

export async function markLostHosts(
  store: Store,
  pass: LivenessPass,
  /** Host liveness is a leader role: its stops are recorded only while this server leads. */
  fence?: Fence,
): Promise<LostHost[]> {
  const { now, timeoutMs } = pass;
  const cutoff = now.getTime() - timeoutMs;
  // Heard from is kept in host_liveness (off the row placement claims on); a host without a
  // row there was never heard from. Only hosts silent past the cutoff are read (of thousands,
  // the few the planner could call lost); the planner decides.
  const silent = await store
    .selectFrom("hosts")
    .leftJoin("host_liveness", "host_liveness.host_id", "hosts.id")
    .select(["hosts.id as hostId", "host_liveness.last_seen_at as lastSeenAt"])
    .where("hosts.status", "=", "ACTIVE")
    .where((eb) =>
      eb.or([
        eb("host_liveness.last_seen_at", "is", null),
        eb("host_liveness.last_seen_at", "<", cutoff),
      ]),
    )
    .execute();
  const lost: LostHost[] = [];
  for (const hostId of planLostHosts(
    silent.map((row) => ({
      hostId: row.hostId,
      lastSeenAt: row.lastSeenAt === null ? null : Number(row.lastSeenAt),
    })),
    pass,
  )) {
    const taskArns = await store.transaction().execute(async (trx) => {
      await fence?.(trx);
      // Read again inside the transaction that stops its tasks: the agent may have reconnected
      // (to this server or another, which writes host_liveness) since the read above. On
      // PostgreSQL the row is locked, so a heartbeat landing now waits for this decision.
      const heard = await trx
        .selectFrom("host_liveness")
        .select("last_seen_at")
        .where("host_id", "=", hostId)
        .$if(dialectOf(trx) === "postgres", (q) => q.forUpdate())
        .executeTakeFirst();
      if (heard?.last_seen_at != null && Number(heard.last_seen_at) >= cutoff) return undefined;
      const marked = await trx
        .updateTable("hosts")
        .set({ status: "LOST" })
        .where("id", "=", hostId)
        .where("status", "=", "ACTIVE")
        .executeTakeFirst();
      if (Number(marked.numUpdatedRows) === 0) return undefined;
      // Its subnets go back to their clusters' blocks: a lost host's tasks are all stopped.
      await releaseHostSubnets(trx, hostId);
      const rows = await trx
        .selectFrom("tasks")
        .selectAll()
        .where("host_id", "=", hostId)
        .where("last_status", "!=", "STOPPED")
        .execute();
      const reason = `Host ${hostId} was lost: its agent was not heard from for ${Math.round(timeoutMs / 1000)} s`;
      for (const row of rows) {
        const task = readTask(row);
        task.lastStatus = "STOPPED";
        task.desiredStatus = "STOPPED";
        task.stopCode ??= "TerminationNotice";
        task.stoppedReason ??= reason;
        task.stoppingAt ??= now;
        task.executionStoppedAt ??= now;
        task.stoppedAt = now;
        task.containers = (task.containers ?? []).map((c) => ({ ...c, lastStatus: "STOPPED" }));
        const version = row.version + 1;
        await trx
          .updateTable("tasks")
          .set({
            last_status: "STOPPED",
            desired_status: "STOPPED",
            stopped_at: now.getTime(),
            version,
            document: JSON.stringify({ ...task, version }),
          })
          .where("arn", "=", row.arn)
          .execute();
        await releaseRoom(trx, hostId, row);
      }
      return rows.map((r) => r.arn);
    });
    if (taskArns !== undefined) lost.push({ hostId, taskArns });
  }
  return lost;
}
