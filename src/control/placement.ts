/**
 * Placement v1: a task goes to an ACTIVE host with enough unreserved CPU and memory for its
 * size. Reservations are exact — the sum of the sizes of the host's tasks that are not STOPPED —
 * so they are released the moment a task reaches STOPPED. Among hosts that fit, the one with the
 * most free memory wins (spreading load). Runs inside the caller's transaction, so two
 * concurrent RunTasks can never book the same room.
 */
import type { Kysely } from "kysely";
import type { Database } from "../store/index.js";

/** The reasons ECS puts in RunTask's failures[] when nothing has room. */
export type PlacementFailure = "RESOURCE:CPU" | "RESOURCE:MEMORY";

export interface HostRoom {
  hostId: string;
  availabilityZone: string;
  freeCpu: number;
  freeMemory: number;
}

export async function hostRoom(db: Kysely<Database>): Promise<HostRoom[]> {
  const hosts = await db.selectFrom("hosts").selectAll().where("status", "=", "ACTIVE").execute();
  const reserved = await db
    .selectFrom("tasks")
    .select(["host_id"])
    .select((eb) => [eb.fn.sum<number>("cpu").as("cpu"), eb.fn.sum<number>("memory").as("memory")])
    .where("host_id", "is not", null)
    .where("last_status", "!=", "STOPPED")
    .groupBy("host_id")
    .execute();
  const byHost = new Map(reserved.map((row) => [row.host_id, row]));
  return hosts.map((host) => ({
    hostId: host.id,
    availabilityZone: host.availability_zone,
    freeCpu: host.cpu - Number(byHost.get(host.id)?.cpu ?? 0),
    freeMemory: host.memory - Number(byHost.get(host.id)?.memory ?? 0),
  }));
}

/** Picks a host for a task of `cpu` units and `memory` MiB, given the room left on each. */
export function chooseHost(
  rooms: HostRoom[],
  cpu: number,
  memory: number,
): HostRoom | PlacementFailure {
  const fitting = rooms.filter((room) => room.freeCpu >= cpu && room.freeMemory >= memory);
  if (fitting.length === 0)
    return rooms.some((room) => room.freeCpu >= cpu) ? "RESOURCE:MEMORY" : "RESOURCE:CPU";
  return fitting.reduce((best, room) => (room.freeMemory > best.freeMemory ? room : best));
}
