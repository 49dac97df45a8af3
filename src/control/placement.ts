/**
 * Placement: a task goes to an ACTIVE host with enough unreserved CPU, memory and ephemeral
 * storage for its size (storage only where the host's agent reports the disk it offers to tasks;
 * the agent's own admission check stays behind it).
 * Each host's row carries what it has given out (`reserved_*`: the sizes of its tasks that have
 * not STOPPED); a placement takes room by one conditional update that adds
 * the task's size only if it still fits, and a task reaching STOPPED gives it back in the same
 * transaction that records the stop. So servers placing at once on one database (each choosing
 * from what it read a moment ago) can never book the same room: the loser of a race sees zero
 * rows updated and chooses again. On PostgreSQL placement runs at READ COMMITTED
 * (store/open.ts `readCommittedTransaction`): the conditional update waits for a host row
 * another transaction is changing and checks the room again on what that one committed, so it
 * holds alone; SERIALIZABLE made nearly every pair of concurrent RunTasks (each reading every
 * host) abort one another. A host whose row another placement holds is passed over while
 * others fit (`SKIP LOCKED`), so placements do not queue behind one another, nor deadlock.
 * Among hosts that fit, tasks of one group spread over zones, then hosts, then go where the
 * most memory is free; exact ties are broken at random, so servers choosing from the same
 * picture at once do not all pick the same host.
 */
import type { Kysely, Transaction } from "kysely";
import { sql } from "kysely";
import { anyOf, dialectOf, type Database } from "../store/index.js";

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

type HostRow = Pick<
  Database["hosts"],
  "id" | "availability_zone" | "capacity_providers" | "cpu" | "memory" | "task_storage_gib"
> & { reserved_cpu: number; reserved_memory: number; reserved_storage_gib: number };

function roomOf(host: HostRow): HostRoom {
  return {
    hostId: host.id,
    availabilityZone: host.availability_zone,
    capacityProviders: JSON.parse(host.capacity_providers) as string[],
    freeCpu: Number(host.cpu) - Number(host.reserved_cpu),
    freeMemory: Number(host.memory) - Number(host.reserved_memory),
    ...(host.task_storage_gib === null
      ? {}
      : { freeStorageGiB: Number(host.task_storage_gib) - Number(host.reserved_storage_gib) }),
  };
}

const ROOM_COLUMNS = [
  "id",
  "availability_zone",
  "capacity_providers",
  "cpu",
  "memory",
  "task_storage_gib",
  "reserved_cpu",
  "reserved_memory",
  "reserved_storage_gib",
] as const;

export async function hostRoom(db: Kysely<Database>): Promise<HostRoom[]> {
  const hosts = await db
    .selectFrom("hosts")
    .select(ROOM_COLUMNS)
    .where("status", "=", "ACTIVE")
    .execute();
  return hosts.map(roomOf);
}

/** Room to take on one host: the sum of the sizes of the tasks placed on it. */
export interface RoomClaim {
  room: HostRoom;
  cpu: number;
  memory: number;
  storageGiB: number;
}

/**
 * Takes each claim's room on its host if it still fits (whatever other servers booked since the
 * room was read), all in one statement: true when taken. When not, the claim's `room` is brought
 * up to date (zero room if the host is no longer ACTIVE) so the caller can choose again. With
 * `skipBusy` (PostgreSQL), a host whose row another transaction holds is not waited for:
 * "busy", its `room` unchanged. One host per claim. A RunTask's tasks go to several hosts, and
 * a statement per task was ten round trips on PostgreSQL for a RunTask of ten.
 */
export async function claimRooms(
  trx: Transaction<Database>,
  claims: readonly RoomClaim[],
  skipBusy = false,
  /**
   * A cluster whose subnet on each host taken is read in the same statement (into `subnets`,
   * host id -> subnet, for the hosts that hold one): a RunTask's hosts mostly hold their
   * cluster's subnet already, and reading them apart was a round trip more on PostgreSQL.
   */
  subnetsOf?: { cluster: string; subnets: Map<string, string> },
): Promise<Array<boolean | "busy">> {
  if (claims.length === 0) return [];
  const postgres = dialectOf(trx) === "postgres";
  const skipping = skipBusy && postgres;
  const ids = claims.map((claim) => claim.room.hostId);
  const asked = sql.join(
    claims.map(
      (claim) =>
        sql`(${claim.room.hostId}, cast(${claim.cpu} as bigint), cast(${claim.memory} as bigint), cast(${claim.storageGiB} as bigint))`,
    ),
  );
  // On PostgreSQL the rows are locked in host order first (a batch waiting on another's rows
  // in another order could deadlock), or passed over while another transaction holds them.
  const locked = postgres
    ? sql`and hosts.id in (select id from hosts where id in (${sql.join(ids)}) order by id for update${skipping ? sql` skip locked` : sql``})`
    : sql``;
  const { rows: claimed } = await sql<HostRow>`update hosts set
      reserved_cpu = reserved_cpu + ask.column2,
      reserved_memory = reserved_memory + ask.column3,
      reserved_storage_gib = reserved_storage_gib + ask.column4
    from (values ${asked}) as ask
    where hosts.id = ask.column1 and hosts.status = 'ACTIVE'
      and reserved_cpu + ask.column2 <= cpu
      and reserved_memory + ask.column3 <= memory
      and (task_storage_gib is null or reserved_storage_gib + ask.column4 <= task_storage_gib)
      ${locked}
    returning ${sql.join(ROOM_COLUMNS.map((column) => sql.ref(`hosts.${column}`)))}${
      subnetsOf === undefined
        ? sql``
        : sql`, (select subnet from host_subnets where host_subnets.cluster_arn = ${subnetsOf.cluster}
            and host_subnets.host_id = hosts.id) as subnet`
    }`.execute(trx);
  const taken = new Map(claimed.map((row) => [row.id, row]));
  if (subnetsOf !== undefined)
    for (const row of claimed as Array<HostRow & { subnet?: string | null }>)
      if (typeof row.subnet === "string") subnetsOf.subnets.set(row.id, row.subnet);
  const missed = ids.filter((id) => !taken.has(id));
  const fresh = new Map<string, HostRow>();
  if (missed.length > 0)
    for (const row of await trx
      .selectFrom("hosts")
      .select(ROOM_COLUMNS)
      .where(anyOf(trx, "id", missed))
      .where("status", "=", "ACTIVE")
      .execute())
      fresh.set(row.id, row);
  return claims.map(({ room, cpu, memory, storageGiB }) => {
    const row = taken.get(room.hostId) ?? fresh.get(room.hostId);
    const now = row === undefined ? undefined : roomOf(row);
    // Not taken although the last committed room fits: another transaction holds the row.
    const won = taken.has(room.hostId);
    if (!won && skipping && now !== undefined && fits(now, cpu, memory, storageGiB)) return "busy";
    room.freeCpu = now?.freeCpu ?? 0;
    room.freeMemory = now?.freeMemory ?? 0;
    if (room.freeStorageGiB !== undefined || now?.freeStorageGiB !== undefined)
      room.freeStorageGiB = now?.freeStorageGiB ?? 0;
    return won;
  });
}

function fits(
  room: Pick<HostRoom, "freeCpu" | "freeMemory" | "freeStorageGiB">,
  cpu: number,
  memory: number,
  storageGiB: number,
): boolean {
  return (
    room.freeCpu >= cpu &&
    room.freeMemory >= memory &&
    (room.freeStorageGiB === undefined || room.freeStorageGiB >= storageGiB)
  );
}

/** Gives a stopped task's room back to its host (in the transaction that records the stop). */
export async function releaseRoom(
  db: Kysely<Database>,
  hostId: string,
  task: { cpu: number; memory: number; ephemeral_storage_gib?: number },
): Promise<void> {
  await db
    .updateTable("hosts")
    .set({
      reserved_cpu: sql<number>`reserved_cpu - ${task.cpu}`,
      reserved_memory: sql<number>`reserved_memory - ${task.memory}`,
      reserved_storage_gib: sql<number>`reserved_storage_gib - ${task.ephemeral_storage_gib ?? 20}`,
    })
    .where("id", "=", hostId)
    .execute();
}

/**
 * Gives room back to several hosts in one statement (`releaseRoom` on each was a round trip
 * each on PostgreSQL): placement's give-backs where a cluster's block had no subnet left for a
 * host it had claimed room on. One entry per host.
 */
export async function releaseRooms(
  db: Kysely<Database>,
  rooms: ReadonlyArray<{ hostId: string; cpu: number; memory: number; storageGiB: number }>,
): Promise<void> {
  if (rooms.length === 0) return;
  const given = sql.join(
    rooms.map(
      (room) =>
        sql`(${room.hostId}, cast(${room.cpu} as bigint), cast(${room.memory} as bigint), cast(${room.storageGiB} as bigint))`,
    ),
  );
  await sql`update hosts set
      reserved_cpu = reserved_cpu - back.column2,
      reserved_memory = reserved_memory - back.column3,
      reserved_storage_gib = reserved_storage_gib - back.column4
    from (values ${given}) as back
    where hosts.id = back.column1`.execute(db);
}

/** How many tasks of the same group (a service's, say) each host already runs. */
export type GroupLoad = ReadonlyMap<string, number>;

/**
 * Picks a host for a task of `cpu` units, `memory` MiB and `storageGiB` of ephemeral storage,
 * given the room left on each. With a
 * group's load, tasks of the group spread across availability zones first, then hosts (as ECS
 * spreads a service's tasks); ties go to the host with the most free memory, and hosts equal in
 * all of that to one of them at random (`random`, for tests).
 */
export function chooseHost(
  rooms: readonly HostRoom[],
  cpu: number,
  memory: number,
  load?: GroupLoad,
  capacityProvider = "FARGATE",
  storageGiB = 0,
  random: () => number = Math.random,
): HostRoom | PlacementFailure {
  // One pass over the hosts with no arrays made per host: it runs for every task placed, over
  // every host (a CPU profile of bench:placement showed three filters and a rank array per host
  // here costing more than the claim's round trip).
  const spread = load !== undefined && load.size > 0;
  // A group's tasks per zone, over the hosts that offer the task's kind of capacity.
  const perZone = new Map<string, number>();
  if (spread)
    for (const room of rooms)
      if (room.capacityProviders.includes(capacityProvider))
        perZone.set(
          room.availabilityZone,
          (perZone.get(room.availabilityZone) ?? 0) + (load.get(room.hostId) ?? 0),
        );
  // The best by (the zone's load, the host's load, most free memory); among equals one at
  // random (each of k ties is kept with chance 1/k).
  let best: HostRoom | undefined;
  let bestZone = 0;
  let bestHost = 0;
  let ties = 0;
  for (const room of rooms) {
    // Only hosts that offer the task's kind of capacity (on-demand or Spot) are candidates.
    if (!fits(room, cpu, memory, storageGiB)) continue;
    if (!room.capacityProviders.includes(capacityProvider)) continue;
    const zone = spread ? (perZone.get(room.availabilityZone) ?? 0) : 0;
    const host = spread ? (load.get(room.hostId) ?? 0) : 0;
    if (best === undefined) {
      [best, bestZone, bestHost, ties] = [room, zone, host, 1];
      continue;
    }
    const order =
      zone !== bestZone
        ? zone - bestZone
        : host !== bestHost
          ? host - bestHost
          : best.freeMemory - room.freeMemory;
    if (order < 0) [best, bestZone, bestHost, ties] = [room, zone, host, 1];
    else if (order === 0 && random() * ++ties < 1) best = room;
  }
  if (best !== undefined) return best;
  const offering = rooms.filter((room) => room.capacityProviders.includes(capacityProvider));
  const cpuFits = offering.filter((room) => room.freeCpu >= cpu);
  if (cpuFits.length === 0) return "RESOURCE:CPU";
  return cpuFits.some((room) => room.freeMemory >= memory)
    ? "RESOURCE:EPHEMERAL_STORAGE"
    : "RESOURCE:MEMORY";
}

/**
 * Hosts for `count` tasks of one size and group, as `chooseHost` would choose them one after
 * another with each booked before the next (its room taken, its and its zone's load one more),
 * from one pass over the hosts rather than one per task: a pass over 5,000 hosts for each of a
 * RunTask's ten tasks was an eighth of the server in bench:placement on PostgreSQL. The pass
 * keeps, per zone, the best `count` hosts by (the group's load on the host, most free memory, a
 * random draw that breaks ties); the tasks are then chosen among those alone, since each booking
 * makes only the booked host worse, so a host outside them never beats all of a zone's unbooked
 * ones. Fewer than `count` when nothing else fits; the rooms are not changed.
 */
export function chooseHosts(
  rooms: readonly HostRoom[],
  count: number,
  cpu: number,
  memory: number,
  load?: GroupLoad,
  capacityProvider = "FARGATE",
  storageGiB = 0,
  random: () => number = Math.random,
): HostRoom[] {
  // With a group (even one without tasks yet: the first task booked starts its spread).
  const spread = load !== undefined;
  interface Candidate {
    room: HostRoom;
    host: number;
    freeCpu: number;
    freeMemory: number;
    freeStorageGiB?: number;
    draw: number;
  }
  // Lower is better: the host's load, then the most free memory, then the draw.
  const order = (a: Candidate, b: Candidate): number =>
    a.host - b.host || b.freeMemory - a.freeMemory || a.draw - b.draw;
  const perZone = new Map<string, number>();
  const best = new Map<string, Candidate[]>();
  for (const room of rooms) {
    if (!room.capacityProviders.includes(capacityProvider)) continue;
    const zone = spread ? room.availabilityZone : "";
    const host = spread ? (load.get(room.hostId) ?? 0) : 0;
    // Most hosts run none of the group: nothing to add to their zone.
    if (host !== 0) perZone.set(zone, (perZone.get(zone) ?? 0) + host);
    let kept = best.get(zone);
    if (kept === undefined) best.set(zone, (kept = []));
    const worst = kept.length === count ? (kept[count - 1] as Candidate) : undefined;
    // Cheap rejections first: most hosts lose on load or memory without a draw.
    if (
      worst !== undefined &&
      (host > worst.host || (host === worst.host && room.freeMemory < worst.freeMemory))
    )
      continue;
    if (!fits(room, cpu, memory, storageGiB)) continue;
    const draw = random();
    // A tie with the worst kept lost on the draw is not made a candidate either: in a fleet of
    // hosts alike (equal load and free memory) that was every host, an object each per RunTask.
    if (
      worst !== undefined &&
      host === worst.host &&
      room.freeMemory === worst.freeMemory &&
      draw >= worst.draw
    )
      continue;
    const candidate: Candidate = {
      room,
      host,
      freeCpu: room.freeCpu,
      freeMemory: room.freeMemory,
      ...(room.freeStorageGiB === undefined ? {} : { freeStorageGiB: room.freeStorageGiB }),
      draw,
    };
    let at = kept.length;
    while (at > 0 && order(candidate, kept[at - 1] as Candidate) < 0) at--;
    if (at === count) continue;
    kept.splice(at, 0, candidate);
    if (kept.length > count) kept.pop();
  }
  const zoneLoad = (zone: string): number => perZone.get(zone) ?? 0;
  const chosen: HostRoom[] = [];
  while (chosen.length < count) {
    let pick: { zone: string; candidate: Candidate } | undefined;
    for (const [zone, kept] of best)
      for (const candidate of kept) {
        if (!fits(candidate, cpu, memory, storageGiB)) continue;
        if (
          pick === undefined ||
          zoneLoad(zone) < zoneLoad(pick.zone) ||
          (zoneLoad(zone) === zoneLoad(pick.zone) && order(candidate, pick.candidate) < 0)
        )
          pick = { zone, candidate };
      }
    if (pick === undefined) break;
    const { zone, candidate } = pick;
    chosen.push(candidate.room);
    candidate.freeCpu -= cpu;
    candidate.freeMemory -= memory;
    if (candidate.freeStorageGiB !== undefined) candidate.freeStorageGiB -= storageGiB;
    candidate.host++;
    if (spread) perZone.set(zone, (perZone.get(zone) ?? 0) + 1);
  }
  return chosen;
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
