/**
 * What each host has free, as one server last read it: placement chooses from this picture
 * instead of reading every host's row for every RunTask (a profile of `bench:placement` on
 * SQLite with 1,000 hosts put that read, and turning its rows into rooms, at 15% of the
 * server's time). The picture is only a hint: the conditional update that takes room
 * (`claimRooms`) stays the arbiter and brings a host it was wrong about up to date, so a stale
 * picture costs a retry, never an overbooked host; and placement reads every host again before
 * it reports that nothing has room, so a stale picture never refuses a task either.
 * The picture is read again once it is `maxAgeMs` old (another server's claims, stopped tasks'
 * room given back), and at once after this server heard a host say hello (joined, back, or
 * resized). It also remembers which clusters' address blocks were found full (only the hosts
 * holding their subnets can take their tasks; for `FULL_BLOCK_MAX_AGE_MS`, across reads of the
 * rooms, or until a hello), and each group's live tasks per host (how a
 * group's tasks spread: a hint too, read once per group and kept up to date with this server's
 * placements, for `GROUP_LOAD_MAX_AGE_MS` across reads of the rooms, or until a hello).
 */
import { performance } from "node:perf_hooks";
import type { Kysely } from "kysely";
import type { Database } from "../store/index.js";
import { groupLoad, hostRoom, type HostRoom } from "./placement.js";

/** How long a server places from the rooms it read before reading every host again. */
export const HOST_ROOM_MAX_AGE_MS = 1000;

/**
 * How long a full block is remembered. Kept across reads of the rooms: forgotten with each,
 * every cluster's next RunTask claimed room on hosts without one of its subnets, found the block
 * full and gave the room back (bench:placement, SQLite, 1,000 hosts in 16 clusters: a RunTask
 * in six; PostgreSQL, 5,000 hosts in 79: most of them). A full block that is not full any more
 * (a holder lost, the cluster made again) only narrows where its tasks go meanwhile: placement
 * drops what it remembers before refusing a task.
 */
export const FULL_BLOCK_MAX_AGE_MS = 10_000;

/**
 * How long the groups' live tasks per host are kept. Forgotten with each read of the rooms
 * (every second), a cluster's next RunTask read its group's tasks again: in bench:placement
 * (PostgreSQL, 5,000 hosts in 79 clusters) 0.74 reads a RunTask, a count over the group's
 * tasks, growing with the run. The loads only spread a group's tasks; meanwhile another
 * server's placements and stops go unseen (this server's placements are booked in them).
 */
export const GROUP_LOAD_MAX_AGE_MS = 10_000;

export class HostRoomView {
  #rooms: HostRoom[] | undefined;
  /** Clusters whose address block was found full, and the hosts holding its subnets. */
  #fullBlocks = new Map<string, { holders: ReadonlySet<string>; at: number }>();
  /** Per cluster and group, its tasks per host that have not stopped, as read and booked. */
  #groupLoads = new Map<string, Map<string, number>>();
  /** When the group loads kept were first read; all are dropped together once too old. */
  #groupLoadsAt = 0;
  /** Bumped when the group loads are dropped or forgotten: a read begun before is not kept. */
  #groupLoadsGeneration = 0;
  /** Per cluster whose block is full, the rooms of its holders (filtered once per read). */
  #reachable = new Map<
    string,
    { from: readonly HostRoom[]; holders: ReadonlySet<string>; rooms: HostRoom[] }
  >();
  /** The rooms of the last rooms `reachable` was given, by host. */
  #byHost: { from: readonly HostRoom[]; rooms: Map<string, HostRoom> } | undefined;
  #readAt = 0;
  #reading = false;
  /** Bumped by `forget`: a read begun before it is not kept. */
  #generation = 0;

  constructor(
    private readonly maxAgeMs = HOST_ROOM_MAX_AGE_MS,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /**
   * The rooms to choose from, read through `db` when there is no picture yet or it is too
   * old; `read` says whether they were read now. While one caller reads, others place from
   * the picture they have rather than read the same rows at once.
   */
  async rooms(db: Kysely<Database>): Promise<{ rooms: HostRoom[]; read: boolean }> {
    const rooms = this.#rooms;
    if (rooms !== undefined && (this.#reading || this.now() - this.#readAt < this.maxAgeMs))
      return { rooms, read: false };
    return { rooms: await this.read(db), read: true };
  }

  /** Reads every host's room now (the picture's age counts from when the read began). */
  async read(db: Kysely<Database>): Promise<HostRoom[]> {
    const startedAt = this.now();
    const generation = this.#generation;
    this.#reading = true;
    try {
      const rooms = await hostRoom(db);
      if (generation === this.#generation) {
        this.#rooms = rooms;
        this.#readAt = startedAt;
      }
      return rooms;
    } finally {
      this.#reading = false;
    }
  }

  /** The hosts changed in a way a claim would not reveal (a new host): read them next time. */
  forget(): void {
    this.#rooms = undefined;
    this.#fullBlocks = new Map();
    this.#groupLoads = new Map();
    this.#reachable = new Map();
    this.#byHost = undefined;
    this.#generation++;
    this.#groupLoadsGeneration++;
  }

  /**
   * `cluster`'s block had no subnet left for another host: only `holders` can take its tasks
   * (kept `FULL_BLOCK_MAX_AGE_MS`, so each RunTask does not find it out again by claiming room
   * on a host without one, and giving it back).
   */
  blockFull(cluster: string, holders: ReadonlySet<string>): void {
    this.#fullBlocks.set(cluster, { holders, at: this.now() });
  }

  /**
   * `group`'s live tasks per host in `cluster`, read through `db` unless kept. The map is the
   * view's own: placement books (and gives back) its tasks in it, so the next RunTask of the
   * group sees them without reading the group again; what others place or stop is seen once
   * the loads are `GROUP_LOAD_MAX_AGE_MS` old. A RunTask read it every time (bench:placement on
   * SQLite: 157 µs a RunTask, the group's index entries; on PostgreSQL a round trip).
   */
  async groupLoad(
    db: Kysely<Database>,
    cluster: string,
    group: string,
  ): Promise<Map<string, number>> {
    if (this.#groupLoads.size > 0 && this.now() - this.#groupLoadsAt >= GROUP_LOAD_MAX_AGE_MS) {
      this.#groupLoads = new Map();
      this.#groupLoadsGeneration++;
    }
    const key = `${cluster}\n${group}`;
    let load = this.#groupLoads.get(key);
    if (load !== undefined) return load;
    const generation = this.#groupLoadsGeneration;
    const startedAt = this.now();
    load = await groupLoad(db, cluster, group);
    // Kept only if the loads were not forgotten or dropped meanwhile.
    if (generation === this.#groupLoadsGeneration) {
      if (this.#groupLoads.size === 0) this.#groupLoadsAt = startedAt;
      this.#groupLoads.set(key, (load = this.#groupLoads.get(key) ?? load));
    }
    return load;
  }

  /**
   * The rooms among `rooms` of the hosts in `holders` (those holding `cluster`'s subnets, its
   * block full), in the holders' order, found once per read of the rooms and holders, not per
   * RunTask: over 5,000 hosts that filter was 1.4% of the server in bench:placement, where every
   * cluster's block fills. The rooms are the same objects, so bookings in either are seen in both.
   */
  reachable(cluster: string, rooms: readonly HostRoom[], holders: ReadonlySet<string>): HostRoom[] {
    let known = this.#reachable.get(cluster);
    if (known?.from !== rooms || known.holders !== holders) {
      // Looked up by host (a block's holders are at most 64), not a pass over every room for
      // each cluster at each read: 79 clusters' passes over 5,000 rooms every second were 0.9%
      // of the server's CPU profile in bench:placement (PostgreSQL, one server).
      if (this.#byHost?.from !== rooms)
        this.#byHost = { from: rooms, rooms: new Map(rooms.map((room) => [room.hostId, room])) };
      const byHost = this.#byHost.rooms;
      const reachable: HostRoom[] = [];
      for (const hostId of holders) {
        const room = byHost.get(hostId);
        if (room !== undefined) reachable.push(room);
      }
      known = { from: rooms, holders, rooms: reachable };
      this.#reachable.set(cluster, known);
    }
    return known.rooms;
  }

  /** The hosts that hold `cluster`'s subnets, if its block was found full. */
  blockHolders(cluster: string): ReadonlySet<string> | undefined {
    const full = this.#fullBlocks.get(cluster);
    if (full === undefined || this.now() - full.at <= FULL_BLOCK_MAX_AGE_MS) return full?.holders;
    this.#fullBlocks.delete(cluster);
    return undefined;
  }
}

const views = new WeakMap<object, HostRoomView>();

/** The view of the server that owns `store` (one per store, so one per server). */
export function hostRoomView(store: object): HostRoomView {
  let view = views.get(store);
  if (view === undefined) views.set(store, (view = new HostRoomView()));
  return view;
}
