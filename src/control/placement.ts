/**
 * Placement v1: a task goes to an ACTIVE host with enough unreserved CPU, memory and ephemeral
 * storage for its size (storage only where the host's agent reports the disk it offers to
 * tasks; the agent's own admission check stays behind it). Reservations are exact — the sum of the sizes of the host's tasks that are not STOPPED —
 * so they are released the moment a task reaches STOPPED. Among hosts that fit, the one with the
 * most free memory wins (spreading load). Runs inside the caller's transaction, so two
 * concurrent RunTasks can never book the same room.
 */
import type { Kysely } from "kysely";
import type { Database } from "../store/index.js";

/** The reasons ECS puts in RunTask's failures[] when nothing has room. */
// ECS names no disk reason (Fargate's capacity is not per host); Berth's hosts have disks, so
// a task that fits nowhere by storage says so in ECS's form.
export type PlacementFailure = "RESOURCE:CPU" | "RESOURCE:MEMORY" | "RESOURCE:EPHEMERAL_STORAGE";

export interface HostRoom {
  hostId: string;
  availabilityZone: string;
  /** FARGATE (on-demand) and/or FARGATE_SPOT. */
  capacityProviders: string[];
  freeCpu: number;
  freeMemory: number;
  /** GiB of task storage not promised to live tasks; undefined when the host does not report. */
  freeStorageGiB?: number;
}

export async function hostRoom(db: Kysely<Database>): Promise<HostRoom[]> {
  const hosts = await db.selectFrom("hosts").selectAll().where("status", "=", "ACTIVE").execute();
  const reserved = await db
    .selectFrom("tasks")
    .select(["host_id"])
    .select((eb) => [
      eb.fn.sum<number>("cpu").as("cpu"),
      eb.fn.sum<number>("memory").as("memory"),
      eb.fn.sum<number>("ephemeral_storage_gib").as("storage"),
    ])
    .where("host_id", "is not", null)
    .where("last_status", "!=", "STOPPED")
    .groupBy("host_id")
    .execute();
  const byHost = new Map(reserved.map((row) => [row.host_id, row]));
  return hosts.map((host) => ({
    hostId: host.id,
    availabilityZone: host.availability_zone,
    capacityProviders: JSON.parse(host.capacity_providers) as string[],
    freeCpu: host.cpu - Number(byHost.get(host.id)?.cpu ?? 0),
    freeMemory: host.memory - Number(byHost.get(host.id)?.memory ?? 0),
    ...(host.task_storage_gib === null
      ? {}
      : { freeStorageGiB: host.task_storage_gib - Number(byHost.get(host.id)?.storage ?? 0) }),
  }));
}

/** How many tasks of the same group (a service's, say) each host already runs. */
export type GroupLoad = ReadonlyMap<string, number>;

/**
 * Picks a host for a task of `cpu` units, `memory` MiB and `storageGiB` of ephemeral storage,
 * given the room left on each. With a
 * group's load, tasks of the group spread across availability zones first, then hosts (as ECS
 * spreads a service's tasks); ties go to the host with the most free memory.
 */
export function chooseHost(
  rooms: HostRoom[],
  cpu: number,
  memory: number,
  load?: GroupLoad,
  capacityProvider = "FARGATE",
  storageGiB = 0,
): HostRoom | PlacementFailure {
  // Only hosts that offer the task's kind of capacity (on-demand or Spot) are candidates.
  const offering = rooms.filter((room) => room.capacityProviders.includes(capacityProvider));
  const storageFits = (room: HostRoom): boolean =>
    room.freeStorageGiB === undefined || room.freeStorageGiB >= storageGiB;
  const fitting = offering.filter(
    (room) => room.freeCpu >= cpu && room.freeMemory >= memory && storageFits(room),
  );
  if (fitting.length === 0) {
    const cpuFits = offering.filter((room) => room.freeCpu >= cpu);
    if (cpuFits.length === 0) return "RESOURCE:CPU";
    return cpuFits.some((room) => room.freeMemory >= memory)
      ? "RESOURCE:EPHEMERAL_STORAGE"
      : "RESOURCE:MEMORY";
  }
  const perZone = new Map<string, number>();
  for (const room of offering)
    perZone.set(
      room.availabilityZone,
      (perZone.get(room.availabilityZone) ?? 0) + (load?.get(room.hostId) ?? 0),
    );
  const rank = (room: HostRoom): number[] => [
    perZone.get(room.availabilityZone) ?? 0,
    load?.get(room.hostId) ?? 0,
    -room.freeMemory,
  ];
  const better = (a: number[], b: number[]): boolean => {
    for (let i = 0; i < a.length; i++)
      if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) < (b[i] ?? 0);
    return false;
  };
  return fitting.reduce((best, room) => (better(rank(room), rank(best)) ? room : best));
}

/** Per host, the tasks of `group` in `cluster` that have not stopped. */
export async function groupLoad(
  db: Kysely<Database>,
  cluster: string,
  group: string,
): Promise<Map<string, number>> {
  const rows = await db
    .selectFrom("tasks")
    .select(["host_id"])
    .select((eb) => eb.fn.countAll<number>().as("count"))
    .where("cluster_name", "=", cluster)
    .where("group_name", "=", group)
    .where("last_status", "!=", "STOPPED")
    .where("host_id", "is not", null)
    .groupBy("host_id")
    .execute();
  return new Map(rows.map((r) => [r.host_id ?? "", Number(r.count)]));
}
