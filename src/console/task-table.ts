/**
 * The console's task list: one page of a cluster's tasks, filtered and counted in the store, so
 * a browser showing 10,000 tasks only ever holds the rows it draws.
 */
import { sql } from "kysely";
import type { Store } from "../store/index.js";

export const MAX_PAGE = 500;

export interface TaskFilter {
  cluster: string;
  /** RUNNING or STOPPED, as ECS's ListTasks desiredStatus; none: both. */
  desiredStatus?: string;
  /** A lifecycle status (PROVISIONING ... STOPPED); none: any. */
  lastStatus?: string;
  /** Matches a task id's start, or anywhere in its family or group. */
  search?: string;
  offset: number;
  limit: number;
}

export interface TaskRow {
  taskArn: string;
  id: string;
  family: string;
  taskDefinitionArn: string;
  lastStatus: string;
  desiredStatus: string;
  group: string;
  startedBy: string | null;
  hostId: string | null;
  cpu: number;
  memory: number;
  createdAt: number;
  stoppedAt: number | null;
}

/** Reads `?cluster=&desiredStatus=&lastStatus=&search=&offset=&limit=`, clamped to sane bounds. */
export function parseTaskFilter(params: URLSearchParams): TaskFilter {
  const int = (name: string, fallback: number, max: number): number => {
    const value = Number.parseInt(params.get(name) ?? "", 10);
    return Number.isFinite(value) ? Math.min(Math.max(value, 0), max) : fallback;
  };
  const text = (name: string): string | undefined => {
    const value = params.get(name)?.trim().slice(0, 200);
    return value === undefined || value === "" ? undefined : value;
  };
  return {
    cluster: text("cluster") ?? "default",
    ...(text("desiredStatus") === undefined ? {} : { desiredStatus: text("desiredStatus") }),
    ...(text("lastStatus") === undefined ? {} : { lastStatus: text("lastStatus") }),
    ...(text("search") === undefined ? {} : { search: text("search") }),
    offset: int("offset", 0, Number.MAX_SAFE_INTEGER),
    limit: int("limit", 100, MAX_PAGE) || 1,
  };
}

const escapeLike = (text: string): string => text.replace(/[\\%_]/g, (c) => `\\${c}`);

export async function taskPage(
  store: Store,
  filter: TaskFilter,
): Promise<{ total: number; tasks: TaskRow[] }> {
  let query = store.selectFrom("tasks").where("cluster_name", "=", filter.cluster);
  if (filter.desiredStatus !== undefined)
    query = query.where("desired_status", "=", filter.desiredStatus);
  if (filter.lastStatus !== undefined) query = query.where("last_status", "=", filter.lastStatus);
  if (filter.search !== undefined) {
    const text = escapeLike(filter.search);
    // ESCAPE spelled out: SQLite has no default escape character (PostgreSQL's is the same).
    const like = (column: "id" | "family" | "group_name", pattern: string) =>
      sql<boolean>`${sql.ref(column)} like ${pattern} escape '\\'`;
    query = query.where((eb) =>
      eb.or([like("id", `${text}%`), like("family", `%${text}%`), like("group_name", `%${text}%`)]),
    );
  }
  const counted = await query
    .select((eb) => eb.fn.countAll<number | string>().as("n"))
    .executeTakeFirst();
  const rows = await query
    .select([
      "arn",
      "id",
      "family",
      "task_definition_arn",
      "last_status",
      "desired_status",
      "group_name",
      "started_by",
      "host_id",
      "cpu",
      "memory",
      "created_at",
      "stopped_at",
    ])
    .orderBy("created_at", "desc")
    .orderBy("arn")
    .offset(filter.offset)
    .limit(filter.limit)
    .execute();
  return {
    total: Number(counted?.n ?? 0),
    tasks: rows.map((row) => ({
      taskArn: row.arn,
      id: row.id,
      family: row.family,
      taskDefinitionArn: row.task_definition_arn,
      lastStatus: row.last_status,
      desiredStatus: row.desired_status,
      group: row.group_name,
      startedBy: row.started_by,
      hostId: row.host_id,
      cpu: Number(row.cpu),
      memory: Number(row.memory),
      createdAt: Number(row.created_at),
      stoppedAt: row.stopped_at === null ? null : Number(row.stopped_at),
    })),
  };
}

export interface HostRow {
  hostId: string;
  availabilityZone: string;
  status: string;
  cpu: number;
  memory: number;
  reservedCpu: number;
  reservedMemory: number;
  tasks: number;
  capacityProviders: string[];
  lastSeenAt: number;
}

/** Every host with what its placed tasks reserve (all clusters share the hosts, as Fargate). */
export async function hostRows(store: Store): Promise<HostRow[]> {
  const hosts = await store
    .selectFrom("hosts")
    .leftJoin("host_liveness", "host_liveness.host_id", "hosts.id")
    .selectAll("hosts")
    .select("host_liveness.last_seen_at")
    .orderBy("hosts.id")
    .execute();
  const reserved = await store
    .selectFrom("tasks")
    .where("host_id", "is not", null)
    .where("last_status", "!=", "STOPPED")
    .select((eb) => [
      "host_id",
      eb.fn.sum<number | string>("cpu").as("cpu"),
      eb.fn.sum<number | string>("memory").as("memory"),
      eb.fn.countAll<number | string>().as("n"),
    ])
    .groupBy("host_id")
    .execute();
  const byHost = new Map(reserved.map((row) => [row.host_id, row]));
  return hosts.map((host) => {
    const used = byHost.get(host.id);
    let providers: string[];
    try {
      providers = JSON.parse(host.capacity_providers) as string[];
    } catch {
      providers = [];
    }
    return {
      hostId: host.id,
      availabilityZone: host.availability_zone,
      status: host.status,
      cpu: Number(host.cpu),
      memory: Number(host.memory),
      reservedCpu: Number(used?.cpu ?? 0),
      reservedMemory: Number(used?.memory ?? 0),
      tasks: Number(used?.n ?? 0),
      capacityProviders: providers,
      lastSeenAt: Number(host.last_seen_at ?? 0),
    };
  });
}
