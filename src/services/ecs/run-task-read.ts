/**
 * What RunTask reads before it places, in one statement: the cluster, the clientToken's earlier
 * answer, the task definition and the runtime tag of each. Read apart they were three round
 * trips on PostgreSQL (the definition, the cluster with the answer, the tags), of the eight a
 * RunTask took in bench:placement.
 */
import type { RunTaskRequest } from "@aws-sdk/client-ecs";
import { sql, type SqlBool } from "kysely";
import type {
  ClusterTable,
  IdempotencyTable,
  Store,
  TaskDefinitionTable,
} from "../../store/index.js";
import { clusterName } from "./resources.js";
import { RUNTIME_TAG } from "./sandbox-runtime.js";
import { taskDefinitionRef } from "./task-definitions.js";

export interface RunTaskRead {
  /** The cluster's row whatever its status; undefined: no such cluster. */
  cluster?: ClusterTable;
  /** The clientToken's earlier answer (none without a token). */
  answer?: Pick<IdempotencyTable, "request_hash" | "response">;
  /** The definition the request names, as findTaskDefinition finds it; undefined: none. */
  definition?: TaskDefinitionTable;
  /** Why the definition named cannot be (an invalid revision): thrown where it is needed. */
  definitionError?: Error;
  /** The runtime tag of the definition and of the cluster, as stored (not checked yet). */
  runtimeTags: { definition?: string; cluster?: string };
}

/** Where RunTask keeps its clientTokens' answers: per cluster, as ECS scopes them. */
export const runTaskScope = (input: RunTaskRequest): string =>
  `RunTask:${clusterName(input.cluster)}`;

export async function readRunTask(store: Store, input: RunTaskRequest): Promise<RunTaskRead> {
  let ref: ReturnType<typeof taskDefinitionRef>;
  let definitionError: Error | undefined;
  try {
    ref = taskDefinitionRef(input.taskDefinition ?? "");
  } catch (error) {
    definitionError = error as Error;
  }
  // As findTaskDefinition: a bare family is its latest ACTIVE revision.
  const definitionOn =
    ref === undefined
      ? sql<SqlBool>`1 = 0`
      : ref.revision === undefined
        ? sql<SqlBool>`td.family = ${ref.family} and td.revision = (select max(revision)
            from task_definitions where family = ${ref.family} and status = 'ACTIVE')`
        : sql<SqlBool>`td.family = ${ref.family} and td.revision = ${ref.revision}`;
  // One row whatever exists: each part is joined to it and found at most once (by its key).
  const row = await store
    .selectFrom(sql<{ one: number }>`(select 1 as one)`.as("one"))
    .leftJoin("clusters", (join) => join.on("clusters.name", "=", clusterName(input.cluster)))
    .leftJoin("idempotency", (join) =>
      join
        .on("idempotency.scope", "=", runTaskScope(input))
        .on("idempotency.token", "=", input.clientToken ?? ""),
    )
    .leftJoin("task_definitions as td", (join) => join.on(definitionOn))
    .select([
      "clusters.name",
      "clusters.arn",
      "clusters.status",
      "clusters.document",
      "clusters.created_at",
      "clusters.updated_at",
      "idempotency.request_hash",
      "idempotency.response",
      "td.family as td_family",
      "td.revision as td_revision",
      "td.arn as td_arn",
      "td.status as td_status",
      "td.document as td_document",
      "td.registered_at as td_registered_at",
      "td.deregistered_at as td_deregistered_at",
    ])
    .select((eb) => [
      eb
        .selectFrom("tags")
        .select("value")
        .whereRef("tags.resource_arn", "=", "clusters.arn")
        .where("tags.key", "=", RUNTIME_TAG)
        .as("cluster_runtime"),
      eb
        .selectFrom("tags")
        .select("value")
        .whereRef("tags.resource_arn", "=", "td.arn")
        .where("tags.key", "=", RUNTIME_TAG)
        .as("definition_runtime"),
    ])
    .executeTakeFirstOrThrow();
  const read: RunTaskRead = { runtimeTags: {} };
  if (definitionError !== undefined) read.definitionError = definitionError;
  if (row.name !== null && row.arn !== null && row.status !== null && row.document !== null)
    read.cluster = {
      name: row.name,
      arn: row.arn,
      status: row.status,
      document: row.document,
      created_at: Number(row.created_at),
      updated_at: Number(row.updated_at),
    };
  if (input.clientToken !== undefined && row.request_hash !== null && row.response !== null)
    read.answer = { request_hash: row.request_hash, response: row.response };
  if (
    row.td_family !== null &&
    row.td_arn !== null &&
    row.td_status !== null &&
    row.td_document !== null &&
    // As findTaskDefinition: one being deleted is not found.
    row.td_status !== "DELETE_IN_PROGRESS"
  )
    read.definition = {
      family: row.td_family,
      revision: Number(row.td_revision),
      arn: row.td_arn,
      status: row.td_status,
      document: row.td_document,
      registered_at: Number(row.td_registered_at),
      deregistered_at: row.td_deregistered_at === null ? null : Number(row.td_deregistered_at),
    };
  if (row.cluster_runtime !== null) read.runtimeTags.cluster = row.cluster_runtime;
  if (row.definition_runtime !== null) read.runtimeTags.definition = row.definition_runtime;
  return read;
}
