/**
 * Task records: desired state written by the API, actual state applied from agents' reports.
 * The ECS `Task` document is owned here because both sides change it; the API layer builds
 * new tasks and reads them back, agents report snapshots that only ever move a task forward.
 */
import type { Container, Failure, Task } from "@aws-sdk/client-ecs";
import type { Insertable, Kysely, Transaction } from "kysely";
import { statusRank, type TaskAssignment, type TaskState } from "../protocol/index.js";
import {
  readCommittedTransaction,
  type Database,
  type Store,
  type TaskTable,
} from "../store/index.js";
import type { Fence } from "./leases.js";
import {
  chooseHost,
  claimRoom,
  groupLoad,
  releaseRoom,
  type HostRoom,
  type PlacementFailure,
} from "./placement.js";
import { hostRoomView } from "./host-room-view.js";
import { applyNetworkState } from "./task-attachments.js";
import {
  defaultAddressSpace,
  hostSubnetFor,
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

export function readTask(
  row: Pick<TaskTable, "document" | "version" | "last_status" | "desired_status">,
): Task {
  const task = JSON.parse(row.document) as Task;
  for (const key of TIMESTAMPS) {
    const value = task[key] as unknown;
    if (typeof value === "string" || typeof value === "number") task[key] = new Date(value);
  }
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
 * Places and stores `drafts` in one transaction. `beforeCommit` runs inside it too (RunTask
 * records its idempotency entry there, so a crash leaves either both or neither).
 */
export async function createTasks(
  store: Store,
  drafts: TaskDraft[],
  beforeCommit?: (trx: Transaction<Database>, placed: Placed) => Promise<void>,
  addresses: TaskAddressSpace = defaultAddressSpace,
): Promise<Placed> {
  // At READ COMMITTED on PostgreSQL (see placement.ts); two placements cutting the same subnet
  // or block for a cluster at once: the loser runs again and finds it taken.
  return readCommittedTransaction(store, ["host_subnets", "cluster_blocks"]).execute(
    async (trx) => {
      // Chosen from this server's picture of the hosts (host-room-view.ts), read again before
      // any task is refused for want of room.
      const view = hostRoomView(store);
      let { rooms, read } = await view.rooms(trx);
      const placed: Placed = { tasks: [], failures: [], assignments: [] };
      const loads = new Map<string, Map<string, number>>();
      // Clusters whose address block has no subnet left for another host: only the hosts that
      // hold one of its subnets can take their tasks. Found in this transaction once a host was
      // refused one, or known to this server's picture (`hinted`, until it is read again, which
      // it is before any refusal).
      const holdersOf = new Map<string, ReadonlySet<string>>();
      const hinted = new Set<string>();
      const reachable = new Map<string, { from: HostRoom[]; rooms: HostRoom[] }>();
      /** The hosts that can take `cluster`'s tasks, from the rooms read. */
      const reachableRooms = (cluster: string): HostRoom[] => {
        const holders = holdersOf.get(cluster);
        if (holders === undefined) return rooms;
        let known = reachable.get(cluster);
        if (known?.from !== rooms) {
          known = { from: rooms, rooms: rooms.filter((room) => holders.has(room.hostId)) };
          reachable.set(cluster, known);
        }
        return known.rooms;
      };
      // The subnet each host was found or given in a cluster, in this transaction: a host's
      // second task of the cluster needs no round trip for it (a host losing its subnets is
      // marked LOST in the same transaction, and then no claim on it succeeds).
      const subnets = new Map<string, string>();
      const rows: Insertable<TaskTable>[] = [];
      for (const draft of drafts) {
        let subnetError: string | undefined;
        const key = `${draft.row.cluster_name}\n${draft.row.group_name}`;
        let load = loads.get(key);
        if (load === undefined) {
          load = await groupLoad(trx, draft.row.cluster_name, draft.row.group_name);
          loads.set(key, load);
        }
        const provider = draft.task.capacityProviderName ?? "FARGATE";
        const { cpu, memory } = draft.row;
        const storageGiB = draft.task.ephemeralStorage?.sizeInGiB ?? 20;
        const cluster = draft.assignment.clusterArn;
        const known = holdersOf.has(cluster) ? undefined : view.blockHolders(cluster);
        if (known !== undefined) {
          holdersOf.set(cluster, known);
          hinted.add(cluster);
        }
        // Hosts whose rows other placements hold (PostgreSQL): passed over while others fit.
        const busy = new Set<string>();
        let wait = false;
        const choose = (): HostRoom | PlacementFailure => {
          const candidates = reachableRooms(cluster);
          const open =
            busy.size === 0 ? candidates : candidates.filter((room) => !busy.has(room.hostId));
          const found = chooseHost(open, cpu, memory, load, provider, storageGiB);
          if (typeof found !== "string" || busy.size === 0) return found;
          // Only hosts being claimed by others have room: wait for their rows from now on.
          busy.clear();
          wait = true;
          return choose();
        };
        // Chosen from what was read; taken only if still free (another server may have booked it
        // since: then chosen again with that host's room brought up to date), and given its
        // subnet of the cluster, in which the agent gives the task an address.
        let choice = choose();
        let subnet = "";
        for (let tries = 0; typeof choice !== "string" || !read; tries++) {
          if (typeof choice === "string") {
            // Nothing has room in the picture: not refused before every host is read again.
            rooms = await view.read(trx);
            read = true;
            for (const full of hinted) holdersOf.delete(full);
            hinted.clear();
            choice = choose();
            continue;
          }
          const claimed = await claimRoom(trx, choice, cpu, memory, storageGiB, !wait);
          if (claimed === "busy") busy.add(choice.hostId);
          else if (claimed) {
            try {
              const held = `${cluster}\n${choice.hostId}`;
              subnet =
                subnets.get(held) ??
                (await hostSubnetFor(trx, addresses, cluster, choice.hostId, draft.row.created_at));
              subnets.set(held, subnet);
              break;
            } catch (error) {
              if (!(error instanceof TaskSubnetsExhausted)) throw error;
              // The room just booked goes back, and the cluster looks elsewhere.
              await releaseRoom(trx, choice.hostId, {
                cpu,
                memory,
                ephemeral_storage_gib: storageGiB,
              });
              choice.freeCpu += cpu;
              choice.freeMemory += memory;
              if (choice.freeStorageGiB !== undefined) choice.freeStorageGiB += storageGiB;
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
              subnetError = `RESOURCE:SUBNET (${error.message})`;
            }
          }
          // Raced by others on every host in turn (each passed over once while busy, and once
          // found full): give up as a full cluster would.
          choice = tries > 2 * rooms.length ? "RESOURCE:CPU" : choose();
        }
        if (typeof choice === "string") {
          // Room on hosts the cluster's block cannot reach: say that, not "no CPU".
          placed.failures.push({ reason: subnetError ?? choice });
          continue;
        }
        const assignment: TaskAssignment = { ...draft.assignment, subnet };
        load.set(choice.hostId, (load.get(choice.hostId) ?? 0) + 1);
        const task: Task = { ...draft.task, availabilityZone: choice.availabilityZone, version: 1 };
        rows.push({
          ...draft.row,
          host_id: choice.hostId,
          ephemeral_storage_gib: storageGiB,
          version: 1,
          document: JSON.stringify(task),
          assignment: JSON.stringify(assignment),
        });
        placed.tasks.push(task);
        placed.assignments.push({ hostId: choice.hostId, assignment });
      }
      // A statement per 500 (a round trip each on PostgreSQL), well under its 65,535 parameters.
      for (let at = 0; at < rows.length; at += 500)
        await trx
          .insertInto("tasks")
          .values(rows.slice(at, at + 500))
          .execute();
      await beforeCommit?.(trx, placed);
      return placed;
    },
  );
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
  if (row === undefined || row.host_id !== hostId) return false;
  if (statusRank(state.lastStatus) < statusRank(row.last_status)) return false;
  const task = readTask(row);
  const before = JSON.stringify(task);
  task.lastStatus = state.lastStatus;
  for (const key of TIMESTAMPS) {
    const value = key === "createdAt" ? undefined : state[key];
    if (value !== undefined && task[key] === undefined) task[key] = new Date(value);
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
  if (JSON.stringify(task) === before) return false;
  const version = row.version + 1;
  const stops = state.lastStatus === "STOPPED" && row.last_status !== "STOPPED";
  // Only over the version read: a report applied meanwhile (another server's, the same task's
  // resent snapshot) wins, and this one changes nothing — so a stop gives its room back once.
  const updated = await db
    .updateTable("tasks")
    .set({
      last_status: state.lastStatus,
      version,
      document: JSON.stringify({ ...task, version }),
      ...(state.lastStatus === "STOPPED"
        ? { stopped_at: state.stoppedAt ?? Date.now(), desired_status: "STOPPED" }
        : {}),
    })
    .where("arn", "=", row.arn)
    .where("version", "=", row.version)
    .executeTakeFirst();
  if (updated.numUpdatedRows === 0n) return "raced";
  if (stops) await releaseRoom(db, hostId, row);
  return true;
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
      .where("task_arn", "in", taskArns.slice(at, at + 500))
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
