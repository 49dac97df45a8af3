/** ECS task definitions: register (revisions count up per family), describe, list, retire. */
import type { ECS, Compatibility, Failure, TaskDefinition } from "@aws-sdk/client-ecs";
import { page, type Handlers } from "../../aws/index.js";
import { readTags, type Store, type TaskDefinitionTable } from "../../store/index.js";
import { clientException, invalidParameter, taskDefinitionNotFound } from "./errors.js";
import { parseTaskDefinitionRef, taskDefinitionArn, type TaskDefinitionRef } from "./resources.js";
import { writeTags } from "./tags.js";
import { checkTaskDefinition, normalizeContainer } from "./task-definition-rules.js";

export function toTaskDefinition(row: TaskDefinitionTable): TaskDefinition {
  const document = JSON.parse(row.document) as TaskDefinition;
  return {
    ...document,
    status: row.status as TaskDefinition["status"],
    registeredAt: new Date(row.registered_at),
    ...(row.deregistered_at === null ? {} : { deregisteredAt: new Date(row.deregistered_at) }),
  };
}

/**
 * What a reference names (undefined: nothing there can be), refusing a revision as ECS does
 * before anything is read.
 */
export function taskDefinitionRef(identifier: string): TaskDefinitionRef | undefined {
  const ref = parseTaskDefinitionRef(identifier);
  // "family:abc": ECS names the revision (its text as recorded from CreateService).
  if (ref === undefined && /^[a-zA-Z0-9_-]{1,255}:(?!\d+$)/.test(identifier.split("/").pop() ?? ""))
    throw invalidParameter("Invalid revision number.");
  return ref;
}

/** The row a reference names: a bare family means its latest ACTIVE revision. */
export async function findTaskDefinition(
  store: Store,
  identifier: string,
): Promise<TaskDefinitionTable | undefined> {
  const ref = taskDefinitionRef(identifier);
  if (ref === undefined) return undefined;
  let query = store.selectFrom("task_definitions").selectAll().where("family", "=", ref.family);
  query =
    ref.revision === undefined
      ? query.where("status", "=", "ACTIVE").orderBy("revision", "desc").limit(1)
      : query.where("revision", "=", ref.revision);
  const row = await query.executeTakeFirst();
  return row?.status === "DELETE_IN_PROGRESS" ? undefined : row;
}

export function taskDefinitionHandlers(store: Store) {
  return {
    registerTaskDefinition: async (input, ctx) => {
      const size = checkTaskDefinition(input);
      const family = input.family as string;
      const fargate = input.requiresCompatibilities?.includes("FARGATE") ?? false;
      const networkMode = input.networkMode ?? (fargate ? "awsvpc" : "bridge");
      const compatibilities: Compatibility[] = size.fargateCompatible
        ? ["EC2", "FARGATE"]
        : ["EC2"];
      const now = ctx.clock.now().getTime();
      const row = await store.transaction().execute(async (trx) => {
        const latest = await trx
          .selectFrom("task_definitions")
          .select((eb) => eb.fn.max("revision").as("revision"))
          .where("family", "=", family)
          .executeTakeFirst();
        const revision = Number(latest?.revision ?? 0) + 1;
        const arn = taskDefinitionArn(ctx.identity, family, revision);
        const document: TaskDefinition = {
          taskDefinitionArn: arn,
          containerDefinitions: (input.containerDefinitions ?? []).map((c) =>
            normalizeContainer(c, networkMode),
          ),
          family,
          taskRoleArn: input.taskRoleArn,
          executionRoleArn: input.executionRoleArn,
          networkMode,
          revision,
          // A volume with nothing but a name is shown with an empty `host`, as ECS shows it.
          volumes: (input.volumes ?? []).map((v) =>
            v.host === undefined && v.dockerVolumeConfiguration === undefined
              ? { ...v, host: {} }
              : v,
          ),
          requiresAttributes: [],
          placementConstraints: input.placementConstraints ?? [],
          compatibilities,
          runtimePlatform: input.runtimePlatform,
          requiresCompatibilities: input.requiresCompatibilities,
          cpu: size.cpu,
          memory: size.memory,
          pidMode: input.pidMode,
          ipcMode: input.ipcMode,
          proxyConfiguration: input.proxyConfiguration,
          inferenceAccelerators: input.inferenceAccelerators,
          ephemeralStorage: input.ephemeralStorage,
          registeredBy: `arn:aws:iam::${ctx.identity.accountId}:root`,
        };
        const inserted: TaskDefinitionTable = {
          family,
          revision,
          arn,
          status: "ACTIVE",
          document: JSON.stringify(document),
          registered_at: now,
          deregistered_at: null,
        };
        await trx.insertInto("task_definitions").values(inserted).execute();
        return inserted;
      });
      await writeTags(store, row.arn, input.tags);
      return { taskDefinition: toTaskDefinition(row), tags: await readTags(store, row.arn) };
    },

    describeTaskDefinition: async (input) => {
      const row = await findTaskDefinition(store, input.taskDefinition ?? "");
      if (row === undefined) throw taskDefinitionNotFound();
      const tags = input.include?.includes("TAGS") ? await readTags(store, row.arn) : undefined;
      return { taskDefinition: toTaskDefinition(row), ...(tags === undefined ? {} : { tags }) };
    },

    listTaskDefinitions: async (input) => {
      let query = store
        .selectFrom("task_definitions")
        .select("arn")
        .where("status", "=", input.status ?? "ACTIVE");
      // Despite its name, ListTaskDefinitions' familyPrefix is a whole family name in ECS.
      if (input.familyPrefix !== undefined) query = query.where("family", "=", input.familyPrefix);
      const direction = input.sort === "DESC" ? "desc" : "asc";
      const rows = await query
        .orderBy("family", direction)
        .orderBy("revision", direction)
        .execute();
      const { items, nextToken } = page(rows, input, 100);
      return { taskDefinitionArns: items.map((row) => row.arn), nextToken };
    },

    listTaskDefinitionFamilies: async (input) => {
      const rows = await store
        .selectFrom("task_definitions")
        .select("family")
        .select((eb) =>
          eb.fn
            .sum<number>(eb.case().when("status", "=", "ACTIVE").then(1).else(0).end())
            .as("active"),
        )
        .where("status", "!=", "DELETE_IN_PROGRESS")
        .groupBy("family")
        .orderBy("family")
        .execute();
      const status = input.status ?? "ALL";
      const prefix = input.familyPrefix ?? "";
      const families = rows
        .filter((row) => row.family.startsWith(prefix))
        .filter((row) =>
          status === "ALL"
            ? true
            : status === "ACTIVE"
              ? Number(row.active) > 0
              : Number(row.active) === 0,
        )
        .map((row) => row.family);
      const result = page(families, input, 100);
      return { families: result.items, nextToken: result.nextToken };
    },

    deregisterTaskDefinition: async (input, ctx) => {
      const identifier = input.taskDefinition ?? "";
      const ref = parseTaskDefinitionRef(identifier);
      if (ref !== undefined && ref.revision === undefined)
        throw clientException("Revision is missing.");
      const row = await findTaskDefinition(store, identifier);
      if (row === undefined) throw taskDefinitionNotFound();
      if (row.status === "ACTIVE") {
        row.status = "INACTIVE";
        row.deregistered_at = ctx.clock.now().getTime();
        await store
          .updateTable("task_definitions")
          .set({ status: row.status, deregistered_at: row.deregistered_at })
          .where("arn", "=", row.arn)
          .execute();
      }
      return { taskDefinition: toTaskDefinition(row) };
    },

    deleteTaskDefinitions: async (input) => {
      const identifiers = input.taskDefinitions ?? [];
      if (identifiers.length === 0)
        throw invalidParameter("size of TaskDefinition references list must be greater than 0");
      if (identifiers.length > 10)
        throw invalidParameter("Size of TaskDefinition references list cannot exceed 10");
      const deleted: TaskDefinition[] = [];
      const failures: Failure[] = [];
      for (const identifier of identifiers) {
        const ref = parseTaskDefinitionRef(identifier);
        if (ref?.revision === undefined) {
          failures.push({
            arn: identifier,
            reason:
              "The specified task definition identifier is invalid. Specify a valid name or ARN and try again.",
          });
          continue;
        }
        const row = await findTaskDefinition(store, identifier);
        if (row === undefined) {
          failures.push({
            arn: identifier,
            reason:
              "The specified task definition does not exist. Specify a valid account, family, revision and try again.",
          });
          continue;
        }
        if (row.status === "ACTIVE") {
          failures.push({
            arn: identifier,
            reason:
              "The specified task definition is still in ACTIVE status. Please deregister the target and try again.",
          });
          continue;
        }
        // ECS deletes asynchronously once nothing uses the revision; Berth marks it and keeps
        // the row, so the revision number is never handed out again.
        row.status = "DELETE_IN_PROGRESS";
        await store
          .updateTable("task_definitions")
          .set({ status: row.status })
          .where("arn", "=", row.arn)
          .execute();
        deleted.push(toTaskDefinition(row));
      }
      return { taskDefinitions: deleted, failures };
    },
  } satisfies Handlers<ECS>;
}
