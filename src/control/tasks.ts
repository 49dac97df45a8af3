/**
 * Task records: desired state written by the API, actual state applied from agents' reports.
 * The ECS `Task` document is owned here because both sides change it; the API layer builds
 * new tasks and reads them back, agents report snapshots that only ever move a task forward.
 */
import type { Container, Failure, Task } from "@aws-sdk/client-ecs";
import { CompiledQuery, sql, type Insertable, type Kysely, type Transaction } from "kysely";
import { statusRank, type TaskAssignment, type TaskState } from "../protocol/index.js";
import {
  anyOf,
  dialectOf,
  groupedTransaction,
  type Database,
  type Store,
  type TaskTable,
} from "../store/index.js";
import type { Fence } from "./leases.js";
import {
  chooseHost,
  chooseHosts,
  claimRooms,
  releaseRoom,
  releaseRooms,
  type HostRoom,
  type PlacementFailure,
} from "./placement.js";
import { hostRoomView } from "./host-room-view.js";
import { applyNetworkState } from "./task-attachments.js";
import {
  clusterSubnets,
  cutHostSubnets,
  defaultAddressSpace,
  TaskSubnetsExhausted,
  type TaskAddressSpace,
} from "./task-subnets.js";

const TIMESTAMPS = [
  "createdAt",
  "pullStartedAt",
  "pullStoppedAt",
  "startedAt",
  "connectivityAt",
  "stoppingAt",
  "executionStoppedAt",
  "stoppedAt",
] as const;

export function readTask(row: StoredTaskRow): Task {
  const task = storedTask(row);
  for (const key of TIMESTAMPS) {
    const value = task[key] as unknown;
    if (typeof value === "string" || typeof value === "number") task[key] = new Date(value);
  }
  return task;
}

type StoredTaskRow = Pick<TaskTable, "document" | "version" | "last_status" | "desired_status">;

/**
 * The columns of a task a report needs: all but its assignment (what the agent was sent, a JSON
 * of its containers that no report changes), which was a third of the bytes a batch of reports
 * read in bench:placement.
 */
export const REPORTED_TASK_COLUMNS = [
  "arn",
  "id",
  "cluster_name",
  "family",
  "task_definition_arn",
  "last_status",
  "desired_status",
  "host_id",
  "cpu",
  "memory",
  "ephemeral_storage_gib",
  "started_by",
  "group_name",
  "created_at",
  "stopped_at",
  "version",
  "document",
] as const satisfies ReadonlyArray<keyof TaskTable>;

export type ReportedTaskRow = Pick<TaskTable, (typeof REPORTED_TASK_COLUMNS)[number]>;

/** `row`'s document with the row's version and statuses, its times as stored (JSON strings). */
function storedTask(row: StoredTaskRow): Task {
  const task = JSON.parse(row.document) as Task;
  task.version = row.version;
  task.lastStatus = row.last_status;
  task.desiredStatus = row.desired_status;
  return task;
}

/** A task the API has validated and built, before placement. */
export interface TaskDraft {
  row: Omit<TaskTable, "host_id" | "document" | "assignment" | "version">;
  task: Task;
  assignment: TaskAssignment;
}

export interface Placed {
  tasks: Task[];
  failures: Failure[];
  /** What each placed task's host is to be told now. */
  assignments: Array<{ hostId: string; assignment: TaskAssignment }>;
}

/**
 * Places and stores `drafts` in one transaction (on SQLite shared with the placements asked
 * for at the same moment, each in its own savepoint: store/group-commit.ts). `beforeCommit`
 * runs inside it too (RunTask records its idempotency entry there, so a crash leaves either
 * both or neither).
 *
 * Every draft is chosen a host from the picture first (booking it there as it goes), then the
 * room is claimed on all those hosts in one statement (`claimRooms`), their subnets read in one
 * per cluster and the rows inserted together: a RunTask of ten tasks is a handful of statements,
 * not a claim and a subnet per task (25 round trips on PostgreSQL). Drafts whose host was lost
 * to another placement are chosen again, with that host's room brought up to date.
 */
export async function createTasks(
  store: Store,
  drafts: TaskDraft[],
  beforeCommit?: (trx: Transaction<Database>, placed: Placed) => Promise<void>,
  addresses: TaskAddressSpace = defaultAddressSpace,
  /**
   * A clientToken's answer, stored with the tasks: on PostgreSQL in the statement that inserts
   * their rows (a round trip of its own was one of a RunTask's seven).
   */
  answer?: (placed: Placed) => Insertable<Database["idempotency"]>,
): Promise<Placed> {
  // At READ COMMITTED on PostgreSQL (see placement.ts); two placements cutting the same subnet
  // or block for a cluster at once: the loser runs again and finds it taken. On SQLite,
  // committed together with the other placements asked for at the same moment.
  return groupedTransaction(store, ["host_subnets", "cluster_blocks"]).execute(async (trx) => {
    // Chosen from this server's picture of the hosts (host-room-view.ts), read again before
    // any task is refused for want of room.
    const view = hostRoomView(store);
    let { rooms, read } = await view.rooms(trx);
    const loads = new Map<string, Map<string, number>>();
    // Clusters whose address block has no subnet left for another host: only the hosts that
    // hold one of its subnets can take their tasks. Found in this transaction once a host was
    // refused one, or known to this server's picture (`hinted`, until it is read again, which
    // it is before any refusal).
    const holdersOf = new Map<string, ReadonlySet<string>>();
    const hinted = new Set<string>();
    /** The hosts that can take `cluster`'s tasks, from the rooms read. */
    const reachableRooms = (cluster: string): HostRoom[] => {
      const holders = holdersOf.get(cluster);
      return holders === undefined ? rooms : view.reachable(cluster, rooms, holders);
    };
    // The subnet each host was found or given in a cluster, in this transaction (a host losing
    // its subnets is marked LOST in the same transaction, and then no claim on it succeeds).
    const subnets = new Map<string, string>();
    // Hosts whose rows other placements hold (PostgreSQL): passed over while others fit; once
    // only they have room, waited for (`wait`).
    const busy = new Set<string>();
    let wait = false;

    const asks = drafts.map((draft) => ({
      draft,
      cluster: draft.assignment.clusterArn,
      provider: draft.task.capacityProviderName ?? "FARGATE",
      storageGiB: draft.task.ephemeralStorage?.sizeInGiB ?? 20,
      load: new Map<string, number>(),
      tries: 0,
      subnetError: undefined as string | undefined,
      outcome: undefined as { room: HostRoom; subnet: string } | { reason: string } | undefined,
    }));
    for (const ask of asks) {
      const key = `${ask.draft.row.cluster_name}\n${ask.draft.row.group_name}`;
      let load = loads.get(key);
      if (load === undefined) {
        load = await view.groupLoad(trx, ask.draft.row.cluster_name, ask.draft.row.group_name);
        loads.set(key, load);
      }
      ask.load = load;
    }
    for (const { cluster } of asks) {
      const known = holdersOf.has(cluster) ? undefined : view.blockHolders(cluster);
      if (known !== undefined) {
        holdersOf.set(cluster, known);
        hinted.add(cluster);
      }
    }
    /** Why each cluster found full in this transaction had no subnet for another host. */
    const fullBecause = new Map<string, string>();
    type Ask = (typeof asks)[number];
    const choose = (ask: Ask): HostRoom | PlacementFailure => {
      const candidates = reachableRooms(ask.cluster);
      const open =
        busy.size === 0 ? candidates : candidates.filter((room) => !busy.has(room.hostId));
      const { cpu, memory } = ask.draft.row;
      const found = chooseHost(open, cpu, memory, ask.load, ask.provider, ask.storageGiB);
      if (typeof found !== "string" || busy.size === 0) return found;
      // Only hosts being claimed by others have room: wait for their rows from now on.
      busy.clear();
      wait = true;
      return choose(ask);
    };
    /** Books (or with -1 gives back) `asks`' room in the picture and their group's load. */
    const book = (room: HostRoom, on: readonly Ask[], sign: 1 | -1): void => {
      for (const ask of on) {
        room.freeCpu -= sign * ask.draft.row.cpu;
        room.freeMemory -= sign * ask.draft.row.memory;
        if (room.freeStorageGiB !== undefined) room.freeStorageGiB -= sign * ask.storageGiB;
        ask.load.set(room.hostId, (ask.load.get(room.hostId) ?? 0) + sign);
      }
    };
    const given = (room: HostRoom, on: readonly Ask[]): void => {
      for (const ask of on) ask.load.set(room.hostId, (ask.load.get(room.hostId) ?? 0) - 1);
    };
    /** What `on` takes of a host's room, summed (claimed, or given back, at once). */
    const sumOf = (on: readonly Ask[]): { cpu: number; memory: number; storageGiB: number } => ({
      cpu: on.reduce((sum, ask) => sum + ask.draft.row.cpu, 0),
      memory: on.reduce((sum, ask) => sum + ask.draft.row.memory, 0),
      storageGiB: on.reduce((sum, ask) => sum + ask.storageGiB, 0),
    });

    let pending = asks;
    while (pending.length > 0) {
      // Chosen from what was read, each draft booked in the picture before the next chooses.
      const perHost = new Map<string, { room: HostRoom; asks: Ask[] }>();
      let reread = false;
      // Tasks alike (a RunTask's) are chosen hosts in one pass over them (chooseHosts), as
      // one after another would be; those it finds nothing for, one by one.
      const alike = new Map<string, Ask[]>();
      for (const ask of pending) {
        const { cluster_name, group_name, cpu, memory } = ask.draft.row;
        const key = [
          ask.cluster,
          cluster_name,
          group_name,
          cpu,
          memory,
          ask.provider,
          ask.storageGiB,
        ];
        const same = alike.get(key.join("\n"));
        if (same === undefined) alike.set(key.join("\n"), [ask]);
        else same.push(ask);
      }
      choosing: for (const same of alike.values()) {
        const first = same[0] as Ask;
        const candidates = reachableRooms(first.cluster);
        const open =
          busy.size === 0 ? candidates : candidates.filter((room) => !busy.has(room.hostId));
        const { cpu, memory } = first.draft.row;
        const hosts = chooseHosts(
          open,
          same.length,
          cpu,
          memory,
          first.load,
          first.provider,
          first.storageGiB,
        );
        for (const [at, ask] of same.entries()) {
          const choice = hosts[at] ?? choose(ask);
          if (typeof choice === "string") {
            if (read) {
              // Room on hosts the cluster's block cannot reach: say that, not "no CPU".
              ask.outcome = { reason: ask.subnetError ?? choice };
              continue;
            }
            reread = true;
            break choosing;
          }
          book(choice, [ask], 1);
          const onHost = perHost.get(choice.hostId);
          if (onHost === undefined) perHost.set(choice.hostId, { room: choice, asks: [ask] });
          else onHost.asks.push(ask);
        }
      }
      if (reread) {
        // Nothing has room in the picture: not refused before every host is read again (the
        // round's bookings in the picture given back first).
        for (const { room, asks: on } of perHost.values()) book(room, on, -1);
        rooms = await view.read(trx);
        read = true;
        for (const full of hinted) holdersOf.delete(full);
        hinted.clear();
        continue;
      }
      // Taken only if still free (another server may have booked it since: then chosen again
      // with that host's room brought up to date).
      const onHosts = [...perHost.values()];
      // The hosts' subnets in the cluster read with the claim when the tasks share one (a
      // RunTask's do); those the claim finds none for are read or cut below.
      const sole = onHosts[0]?.asks[0]?.cluster;
      const held = new Map<string, string>();
      const claimed = await claimRooms(
        trx,
        onHosts.map(({ room, asks: on }) => ({ room, ...sumOf(on) })),
        !wait,
        sole !== undefined &&
          onHosts.every(({ asks: on }) => on.every((ask) => ask.cluster === sole))
          ? { cluster: sole, subnets: held }
          : undefined,
      );
      for (const [hostId, subnet] of held) subnets.set(`${sole}\n${hostId}`, subnet);
      const won: Array<{ room: HostRoom; asks: Ask[] }> = [];
      for (const [at, onHost] of onHosts.entries()) {
        const result = claimed[at];
        if (result === true) {
          won.push(onHost);
          continue;
        }
        for (const ask of onHost.asks) ask.tries++;
        if (result === "busy") {
          busy.add(onHost.room.hostId);
          book(onHost.room, onHost.asks, -1);
        } else given(onHost.room, onHost.asks);
      }
      // Each host given its subnet of the cluster, in which the agent gives the task an
      // address: those it holds read, the others cut, each once per cluster for all its hosts.
      const missing = new Map<string, string[]>();
      for (const { room, asks: on } of won)
        for (const ask of on)
          if (!subnets.has(`${ask.cluster}\n${room.hostId}`)) {
            const hosts = missing.get(ask.cluster) ?? [];
            if (!hosts.includes(room.hostId)) hosts.push(room.hostId);
            missing.set(ask.cluster, hosts);
          }
      for (const [cluster, hostIds] of missing) {
        const known = await clusterSubnets(trx, cluster);
        for (const hostId of hostIds) {
          const subnet = known.held.get(hostId);
          if (subnet !== undefined) subnets.set(`${cluster}\n${hostId}`, subnet);
        }
        const lacking = hostIds.filter((hostId) => !subnets.has(`${cluster}\n${hostId}`));
        if (lacking.length === 0 || fullBecause.has(cluster)) continue;
        let full: string | undefined;
        try {
          const now = asks.find((ask) => ask.cluster === cluster)?.draft.row.created_at;
          const cut = await cutHostSubnets(
            trx,
            addresses,
            cluster,
            lacking,
            now ?? Date.now(),
            known,
          );
          for (const [hostId, subnet] of cut.cut) subnets.set(`${cluster}\n${hostId}`, subnet);
          full = cut.full;
        } catch (error) {
          if (!(error instanceof TaskSubnetsExhausted)) throw error;
          full = error.message;
        }
        if (full === undefined) continue;
        // The block is full: only hosts that already hold one of its subnets can take the
        // cluster's tasks (one query, not one refused claim per host).
        const holders = await trx
          .selectFrom("host_subnets")
          .select("host_id")
          .where("cluster_arn", "=", cluster)
          .execute();
        const holding = new Set(holders.map((row) => row.host_id));
        view.blockFull(cluster, holding);
        holdersOf.set(cluster, holding);
        hinted.delete(cluster);
        fullBecause.set(cluster, full);
      }
      // Room given back, per host, in one statement after (a round trip each was most of a
      // RunTask's on PostgreSQL when a cluster's block filled).
      const givenBack = new Map<string, { cpu: number; memory: number; storageGiB: number }>();
      for (const { room, asks: on } of won)
        for (const cluster of new Set(on.map((ask) => ask.cluster))) {
          const ofCluster = on.filter((ask) => ask.cluster === cluster);
          const subnet = subnets.get(`${cluster}\n${room.hostId}`);
          if (subnet !== undefined) {
            for (const ask of ofCluster) ask.outcome = { room, subnet };
            continue;
          }
          // No subnet for this host: the room just booked goes back, and the cluster looks
          // elsewhere.
          const { cpu, memory, storageGiB } = sumOf(ofCluster);
          const back = givenBack.get(room.hostId) ?? { cpu: 0, memory: 0, storageGiB: 0 };
          back.cpu += cpu;
          back.memory += memory;
          back.storageGiB += storageGiB;
          givenBack.set(room.hostId, back);
          book(room, ofCluster, -1);
          for (const ask of ofCluster) {
            ask.tries++;
            ask.subnetError = `RESOURCE:SUBNET (${fullBecause.get(cluster) ?? "no subnet"})`;
          }
        }
      await releaseRooms(
        trx,
        [...givenBack].map(([hostId, back]) => ({ hostId, ...back })),
      );
      // Raced by others on every host in turn (each passed over once while busy, and once
      // found full): give up as a full cluster would.
      for (const ask of pending)
        if (ask.outcome === undefined && ask.tries > 2 * rooms.length)
          ask.outcome = { reason: ask.subnetError ?? "RESOURCE:CPU" };
      pending = pending.filter((ask) => ask.outcome === undefined);
    }

    const placed: Placed = { tasks: [], failures: [], assignments: [] };
    const rows: Insertable<TaskTable>[] = [];
    for (const { draft, storageGiB, outcome } of asks) {
      if (outcome === undefined || "reason" in outcome) {
        placed.failures.push({ reason: outcome?.reason ?? "RESOURCE:CPU" });
        continue;
      }
      const { room, subnet } = outcome;
      const assignment: TaskAssignment = { ...draft.assignment, subnet };
      const task: Task = { ...draft.task, availabilityZone: room.availabilityZone, version: 1 };
      rows.push({
        ...draft.row,
        host_id: room.hostId,
        ephemeral_storage_gib: storageGiB,
        version: 1,
        document: JSON.stringify(task),
        assignment: JSON.stringify(assignment),
      });
      placed.tasks.push(task);
      placed.assignments.push({ hostId: room.hostId, assignment });
    }
    // A statement per 500 (a round trip each on PostgreSQL), well under its 65,535 parameters;
    // on PostgreSQL the answer goes in with the first (PostgreSQL runs a WITH's insert once,
    // whether or not the statement reads it).
    const entry = answer?.(placed);
    const together = entry !== undefined && rows.length > 0 && dialectOf(trx) === "postgres";
    for (let at = 0; at < rows.length; at += 500) {
      const values = rows.slice(at, at + 500);
      if (at === 0 && together)
        await trx
          .with("answer", (db) => db.insertInto("idempotency").values(entry))
          .insertInto("tasks")
          .values(values)
          .execute();
      else await trx.insertInto("tasks").values(values).execute();
    }
    if (entry !== undefined && !together)
      await trx.insertInto("idempotency").values(entry).execute();
    await beforeCommit?.(trx, placed);
    return placed;
  });
}

/** Merges an agent's snapshot into the stored task; stale or repeated snapshots change nothing. */
export async function applyTaskState(
  db: Kysely<Database>,
  hostId: string,
  state: TaskState,
  /** The task's row as just read (a batch of reports reads its tasks at once); null: none. */
  read?: TaskTable | null,
): Promise<boolean> {
  // Merging only moves a task forward, so a snapshot that lost a race to another (applied by
  // another server meanwhile) is merged again onto the winner's result.
  for (let attempt = 0; attempt < 10; attempt++) {
    const applied = await mergeTaskState(db, hostId, state, attempt === 0 ? read : undefined);
    if (applied !== "raced") return applied;
  }
  throw new Error(`task ${state.taskArn} kept changing while its report was applied`);
}

async function mergeTaskState(
  db: Kysely<Database>,
  hostId: string,
  state: TaskState,
  read?: TaskTable | null,
): Promise<boolean | "raced"> {
  const row =
    read === undefined
      ? await db.selectFrom("tasks").selectAll().where("arn", "=", state.taskArn).executeTakeFirst()
      : (read ?? undefined);
  if (row === undefined) return false;
  const merged = mergedTask(row, hostId, state);
  if (merged === undefined) return false;
  // Only over the version read: a report applied meanwhile (another server's, the same task's
  // resent snapshot) wins, and this one changes nothing — so a stop gives its room back once.
  const updated = await db
    .updateTable("tasks")
    .set({
      last_status: merged.last_status,
      version: merged.version,
      document: merged.document,
      stopped_at: merged.stopped_at,
      desired_status: merged.desired_status,
    })
    .where("arn", "=", row.arn)
    .where("version", "=", row.version)
    .executeTakeFirst();
  if (updated.numUpdatedRows === 0n) return "raced";
  if (merged.last_status === "STOPPED" && row.last_status !== "STOPPED")
    await releaseRoom(db, hostId, row);
  return true;
}

/**
 * `row` with `hostId`'s snapshot merged into it, its version one more; undefined when the
 * snapshot changes nothing (stale, repeated, or from a host the task is not on).
 */
function mergedTask<Row extends ReportedTaskRow>(
  row: Row,
  hostId: string,
  state: TaskState,
): Row | undefined {
  if (row.host_id !== hostId) return undefined;
  const forward = statusRank(state.lastStatus) - statusRank(row.last_status);
  if (forward < 0) return undefined;
  // The document as stored, its times left as the strings JSON made of them (the ones added
  // below are made the same way), and as it will be stored: version one more. A report that
  // moves the task forward changes it; one of the same status is compared with what it was.
  const version = row.version + 1;
  const task = storedTask({ ...row, version });
  const before = forward > 0 ? undefined : JSON.stringify(task);
  task.lastStatus = state.lastStatus;
  const times = task as Record<(typeof TIMESTAMPS)[number], unknown>;
  for (const key of TIMESTAMPS) {
    const value = key === "createdAt" ? undefined : state[key];
    if (value !== undefined && times[key] === undefined) times[key] = new Date(value).toJSON();
  }
  if (state.lastStatus === "RUNNING" && task.connectivity === undefined) {
    task.connectivity = "CONNECTED";
    task.connectivityAt = task.startedAt;
  }
  if (state.healthStatus !== undefined) task.healthStatus = state.healthStatus;
  if (state.stopCode !== undefined && task.stopCode === undefined)
    task.stopCode = state.stopCode as Task["stopCode"];
  if (state.stoppedReason !== undefined && task.stoppedReason === undefined)
    task.stoppedReason = state.stoppedReason;
  task.containers = (task.containers ?? []).map((container): Container => {
    const reported = state.containers.find((c) => c.name === container.name);
    if (reported === undefined) return container;
    return {
      ...container,
      lastStatus: reported.lastStatus,
      ...(reported.runtimeId === undefined ? {} : { runtimeId: reported.runtimeId }),
      ...(reported.imageDigest === undefined ? {} : { imageDigest: reported.imageDigest }),
      ...(reported.exitCode === undefined ? {} : { exitCode: reported.exitCode }),
      ...(reported.reason === undefined ? {} : { reason: reported.reason }),
      ...(reported.healthStatus === undefined ? {} : { healthStatus: reported.healthStatus }),
    };
  });
  applyNetworkState(task, state);
  const document = JSON.stringify(task);
  if (document === before) return undefined;
  const stopped = state.lastStatus === "STOPPED";
  return {
    ...row,
    last_status: state.lastStatus,
    version,
    document,
    stopped_at: stopped ? (state.stoppedAt ?? Date.now()) : row.stopped_at,
    desired_status: stopped ? "STOPPED" : row.desired_status,
  };
}

/** One task's merged snapshot, written only over the version read (SQLite: see below). */
const UPDATE_TASK_STATE = `update tasks set last_status = ?, version = ?, document = ?,
  stopped_at = ?, desired_status = ? where arn = ? and version = ?`;

/**
 * Several hosts' snapshots merged as `applyTaskState` merges each, in order (a task's second
 * snapshot onto what its first made), with every task they change written in one statement on
 * PostgreSQL (an UPDATE per report was a round trip each: in bench:placement at 5,000 hosts a
 * sixth of the server's socket writes), on SQLite by one prepared statement per task. `read`
 * holds the tasks' rows as just read (missing: no such task). Each row is written only over the
 * version read; a task changed meanwhile (another server's report, a stop) has its snapshots
 * applied again one by one, as `applyTaskState` does, on what is stored. Whether each snapshot
 * changed its task.
 */
export async function applyTaskStates(
  db: Kysely<Database>,
  reports: ReadonlyArray<{ hostId: string; state: TaskState }>,
  read: ReadonlyMap<string, ReportedTaskRow>,
): Promise<boolean[]> {
  const changed: boolean[] = [];
  // Per task changed: the row read and what the batch's snapshots made of it.
  const merged = new Map<string, { from: ReportedTaskRow; to: ReportedTaskRow }>();
  for (const { hostId, state } of reports) {
    const arn = state.taskArn;
    const row = merged.get(arn)?.to ?? read.get(arn);
    const to = row === undefined ? undefined : mergedTask(row, hostId, state);
    changed.push(to !== undefined);
    if (to !== undefined)
      merged.set(arn, { from: merged.get(arn)?.from ?? (row as ReportedTaskRow), to });
  }
  if (merged.size === 0) return changed;
  const written = new Set<string>();
  const rows = [...merged.values()];
  if (dialectOf(db) === "sqlite") {
    // On SQLite, where a statement is no round trip, one prepared UPDATE per task: the VALUES
    // join below took three times as long per row (it materializes the values and collects
    // what it returns), and each batch's size was another statement to prepare.
    for (const { from, to } of rows) {
      const { numAffectedRows } = await db.executeQuery(
        CompiledQuery.raw(UPDATE_TASK_STATE, [
          to.last_status,
          to.version,
          to.document,
          to.stopped_at,
          to.desired_status,
          to.arn,
          from.version,
        ]),
      );
      if (numAffectedRows === 1n) written.add(to.arn);
    }
  } else
    for (let at = 0; at < rows.length; at += 500) {
      const values = sql.join(
        rows
          .slice(at, at + 500)
          .map(
            ({ from, to }) =>
              sql`(${to.arn}, ${to.last_status}, cast(${to.version} as integer), ${to.document}, cast(${to.stopped_at} as bigint), ${to.desired_status}, cast(${from.version} as integer))`,
          ),
      );
      const { rows: updated } = await sql<{ arn: string }>`update tasks set
          last_status = v.column2, version = v.column3, document = v.column4,
          stopped_at = v.column5, desired_status = v.column6
        from (values ${values}) as v
        where tasks.arn = v.column1 and tasks.version = v.column7
        returning tasks.arn`.execute(db);
      for (const { arn } of updated) written.add(arn);
    }
  for (const [arn, { from, to }] of merged) {
    if (written.has(arn)) {
      // A stop gives its room back once: only the write that moved the task to STOPPED does.
      if (to.last_status === "STOPPED" && from.last_status !== "STOPPED" && from.host_id !== null)
        await releaseRoom(db, from.host_id, from);
      continue;
    }
    // Changed meanwhile: this task's snapshots merged again one by one on what is stored.
    for (const [at, { hostId, state }] of reports.entries())
      if (state.taskArn === arn) changed[at] = await applyTaskState(db, hostId, state);
  }
  return changed;
}

export interface StopRequest {
  taskArn: string;
  stopCode: string;
  stoppedReason: string;
  now: Date;
  /** A leader role's stop: recorded only while this server still leads. */
  fence?: Fence;
}

/** Sets desiredStatus STOPPED; a task that never reached a host stops at once. */
export async function requestStop(
  store: Store,
  request: StopRequest,
): Promise<TaskTable | undefined> {
  return store.transaction().execute(async (trx) => {
    await request.fence?.(trx);
    const row = await trx
      .selectFrom("tasks")
      .selectAll()
      .where("arn", "=", request.taskArn)
      .executeTakeFirst();
    if (row === undefined || row.desired_status === "STOPPED") return row;
    const task = readTask(row);
    task.desiredStatus = "STOPPED";
    task.stopCode ??= request.stopCode as Task["stopCode"];
    task.stoppedReason ??= request.stoppedReason;
    const assignment = JSON.parse(row.assignment) as TaskAssignment;
    assignment.desiredStatus = "STOPPED";
    assignment.stopCode = task.stopCode;
    assignment.stoppedReason = task.stoppedReason;
    const version = row.version + 1;
    const unplaced = row.host_id === null;
    if (unplaced) {
      task.lastStatus = "STOPPED";
      task.stoppedAt = request.now;
    }
    const updated: TaskTable = {
      ...row,
      desired_status: "STOPPED",
      last_status: unplaced ? "STOPPED" : row.last_status,
      stopped_at: unplaced ? request.now.getTime() : row.stopped_at,
      version,
      document: JSON.stringify({ ...task, version }),
      assignment: JSON.stringify(assignment),
    };
    await trx.updateTable("tasks").set(updated).where("arn", "=", row.arn).execute();
    return updated;
  });
}

/**
 * Of `taskArns`, those whose stop is held while their load balancer targets drain: a target row
 * of the task's with a `draining_until` still ahead. The drain is in the store, so whichever
 * server delivers a task's stop (the one that asked, or another after it died) waits the same;
 * the bound in the row means a stop is never held longer than the deregistration delay.
 */
export async function drainingTasks(
  db: Kysely<Database>,
  taskArns: readonly string[],
  now: number = Date.now(),
): Promise<Set<string>> {
  const held = new Set<string>();
  for (let at = 0; at < taskArns.length; at += 500) {
    const rows = await db
      .selectFrom("elb_targets")
      .select("task_arn")
      .where(anyOf(db, "task_arn", taskArns.slice(at, at + 500)))
      .where("draining_until", ">", now)
      .execute();
    for (const row of rows) if (row.task_arn !== null) held.add(row.task_arn);
  }
  return held;
}

/**
 * Everything a host should know about: its tasks that have not STOPPED. A task whose stop is
 * held while it drains is still RUNNING to its host.
 */
export async function assignmentsForHost(store: Store, hostId: string): Promise<TaskAssignment[]> {
  const rows = await store
    .selectFrom("tasks")
    .select(["arn", "desired_status", "assignment"])
    .where("host_id", "=", hostId)
    .where("last_status", "!=", "STOPPED")
    .execute();
  const held = await drainingTasks(
    store,
    rows.filter((row) => row.desired_status === "STOPPED").map((row) => row.arn),
  );
  return rows.map((row) => {
    const assignment = JSON.parse(row.assignment) as TaskAssignment;
    return held.has(row.arn) ? { ...assignment, desiredStatus: "RUNNING" } : assignment;
  });
}
