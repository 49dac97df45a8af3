/**
 * Host failure detection: a host whose agent has not been heard from within the timeout is
 * LOST, and its tasks are STOPPED with the reason — so services start replacements elsewhere.
 * If the agent comes back, its `sync` no longer lists those tasks and it stops the stale copies.
 */
import type { Store } from "../store/index.js";
import type { Fence } from "./leases.js";
import { releaseRoom } from "./placement.js";
import { readTask } from "./tasks.js";
import { releaseHostSubnets } from "./task-subnets.js";

export interface LostHost {
  hostId: string;
  taskArns: string[];
}

export async function markLostHosts(
  store: Store,
  now: Date,
  timeoutMs: number,
  connected: ReadonlySet<string>,
  /** Host liveness is a leader role: its stops are recorded only while this server leads. */
  fence?: Fence,
): Promise<LostHost[]> {
  const cutoff = now.getTime() - timeoutMs;
  const silent = await store
    .selectFrom("hosts")
    .select(["id", "last_seen_at"])
    .where("status", "=", "ACTIVE")
    .where("last_seen_at", "<", cutoff)
    .execute();
  const lost: LostHost[] = [];
  for (const host of silent) {
    // A host with an open channel is alive even if its last heartbeat was slow to be written.
    if (connected.has(host.id)) continue;
    const taskArns = await store.transaction().execute(async (trx) => {
      await fence?.(trx);
      await trx.updateTable("hosts").set({ status: "LOST" }).where("id", "=", host.id).execute();
      // Its subnets go back to their clusters' blocks: a lost host's tasks are all stopped.
      await releaseHostSubnets(trx, host.id);
      const rows = await trx
        .selectFrom("tasks")
        .selectAll()
        .where("host_id", "=", host.id)
        .where("last_status", "!=", "STOPPED")
        .execute();
      const reason = `Host ${host.id} was lost: its agent was not heard from for ${Math.round(timeoutMs / 1000)} s`;
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
        await releaseRoom(trx, host.id, row);
      }
      return rows.map((r) => r.arn);
    });
    lost.push({ hostId: host.id, taskArns });
  }
  return lost;
}
