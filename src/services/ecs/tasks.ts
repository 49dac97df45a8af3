/** ECS tasks: RunTask (placed at once, idempotent by clientToken), StopTask, DescribeTasks, ListTasks. */
import type { ECS, Failure, RunTaskRequest, RunTaskResponse, Task } from "@aws-sdk/client-ecs";
import { createHash } from "node:crypto";
import { page, renderOnce, type RequestContext, type Handlers } from "../../aws/index.js";
import { parseArn } from "../../core/index.js";
import { readTask, type Placed, type TaskCommands } from "../../control/index.js";
import type { TaskAssignment } from "../../protocol/index.js";
import type { Insertable } from "kysely";
import {
  anyOf,
  isUniqueViolation,
  readTags,
  type Database,
  type Store,
} from "../../store/index.js";
import { resolveStrategy, splitStrategy } from "./capacity-providers.js";
import { findActiveCluster } from "./clusters.js";
import { clusterNotFound, invalidParameter } from "./errors.js";
import { clusterName } from "./resources.js";
import { draftTasks, taskArnOf } from "./run-task.js";
import { readRunTask, runTaskScope, type RunTaskRead } from "./run-task-read.js";
import { runtimeOfTags } from "./sandbox-runtime.js";
import { checkTags, tagEntries } from "./tags.js";
import { toTaskDefinition } from "./task-definitions.js";

/** A task's ARN from its ARN or its id within `cluster`. */
export function taskArnFrom(ctx: RequestContext, cluster: string, identifier: string): string {
  const parsed = parseArn(identifier);
  if (parsed !== undefined) return identifier;
  return taskArnOf(ctx.identity, cluster, identifier);
}

function requestHash(input: RunTaskRequest): string {
  const rest: RunTaskRequest & { clientToken?: string } = { ...input };
  delete rest.clientToken;
  return createHash("sha256").update(JSON.stringify(rest)).digest("hex");
}

/** A pull credential for Berth's own registry, minted per RunTask. */
export type RegistryCredentialSource = () => TaskAssignment["registryCredentials"];

export function taskHandlers(
  store: Store,
  commands: TaskCommands,
  registryCredentials: RegistryCredentialSource,
) {
  async function withTags(task: Task, include: boolean): Promise<Task> {
    return include ? { ...task, tags: await readTags(store, task.taskArn ?? "") } : task;
  }

  return {
    /** `read`: what the caller has just read for `input` (readRunTask), not read again. */
    runTask: async (
      input: RunTaskRequest,
      ctx: RequestContext,
      read?: RunTaskRead,
    ): Promise<RunTaskResponse> => {
      const token = input.clientToken;
      const scope = runTaskScope(input);
      const hash = requestHash(input);
      // ECS answers a reused token with other parameters with an error; the same request gets
      // the first answer again.
      const answer = (seen: { request_hash: string; response: string }): RunTaskResponse => {
        if (seen.request_hash !== hash)
          throw invalidParameter("The clientToken was already used with different parameters.");
        return JSON.parse(seen.response) as RunTaskResponse;
      };
      const earlierAnswer = async (): Promise<RunTaskResponse | undefined> => {
        if (token === undefined) return undefined;
        const seen = await store
          .selectFrom("idempotency")
          .selectAll()
          .where("scope", "=", scope)
          .where("token", "=", token)
          .executeTakeFirst();
        return seen === undefined ? undefined : answer(seen);
      };
      // The cluster, the token's earlier answer, the definition and the runtime tags in one
      // read (a round trip each on PostgreSQL), checked in the order ECS checks them.
      const found = read ?? (await readRunTask(store, input));
      const cluster = found.cluster;
      if (cluster?.status !== "ACTIVE") throw clusterNotFound();
      if (found.answer !== undefined) return answer(found.answer);
      if (found.definitionError !== undefined) throw found.definitionError;
      const definition = found.definition;
      if (definition === undefined) throw invalidParameter("TaskDefinition not found.");
      const strategy = resolveStrategy(input, cluster.document);
      const runtime = runtimeOfTags([
        [definition.arn, found.runtimeTags.definition],
        [cluster.arn, found.runtimeTags.cluster],
      ]);
      const drafts = draftTasks(toTaskDefinition(definition), input, {
        ...(strategy.length > 0
          ? { capacityProviders: splitStrategy(strategy, input.count ?? 1) }
          : {}),
        identity: ctx.identity,
        clusterName: cluster.name,
        clusterArn: cluster.arn,
        now: ctx.clock.now(),
        registryCredentials: registryCredentials(),
        ...(runtime === undefined ? {} : { runtime }),
      });
      const tags = [
        ...(input.propagateTags === "TASK_DEFINITION" ? await readTags(store, definition.arn) : []),
        ...(input.tags ?? []),
      ];
      checkTags(tags);
      // The clientToken's answer is recorded with the tasks, so a crash leaves both or neither.
      // The answer recorded is also the response (rendered once: renderOnce).
      let recorded: RunTaskResponse | undefined;
      const answerOf = (result: Placed): Insertable<Database["idempotency"]> => {
        recorded = { tasks: result.tasks, failures: result.failures };
        return {
          scope,
          token: token ?? "",
          request_hash: hash,
          // Kept in wire form (timestamps as epoch seconds), which renders back unchanged.
          response: renderOnce(recorded),
          created_at: ctx.clock.now().getTime(),
        };
      };
      return commands
        .startTasks({
          drafts,
          tags: tagEntries(tags),
          ...(token === undefined ? {} : { answer: answerOf }),
        })
        .then((started) =>
          // The answer of the transaction that committed (not of one that ran again).
          recorded?.tasks === started.tasks && recorded.failures === started.failures
            ? recorded
            : started,
        )
        .catch(async (error: unknown) => {
          // The same token sent to another server at the same moment: its request committed
          // first (and this one's tasks were rolled back with the losing entry), so its answer
          // is this one's too.
          const winner = isUniqueViolation(error) ? await earlierAnswer() : undefined;
          if (winner === undefined) throw error;
          return winner;
        });
    },

    stopTask: async (input, ctx) => {
      const cluster = await findActiveCluster(store, input.cluster);
      const taskArn = taskArnFrom(ctx, cluster.name, input.task ?? "");
      const stoppedReason = input.reason ?? "Task stopped by user";
      // Another cluster's task (named by its full ARN) is not found, and not stopped either.
      const found = await store
        .selectFrom("tasks")
        .select("cluster_name")
        .where("arn", "=", taskArn)
        .executeTakeFirst();
      if (found?.cluster_name !== cluster.name)
        throw invalidParameter("The referenced task was not found.");
      const row = await commands.stopTask({
        taskArn,
        stopCode: "UserInitiated",
        stoppedReason,
        now: ctx.clock.now(),
      });
      if (row === undefined) throw invalidParameter("The referenced task was not found.");
      return { task: readTask(row) };
    },

    describeTasks: async (input, ctx) => {
      const cluster = await findActiveCluster(store, input.cluster);
      const identifiers = input.tasks ?? [];
      // ECS's text, as moto records it from AWS; the model allows an empty list.
      if (identifiers.length === 0) throw invalidParameter("Tasks cannot be empty.");
      if (identifiers.length > 100) throw invalidParameter("Tasks cannot be longer than 100.");
      const includeTags = input.include?.includes("TAGS") ?? false;
      const tasks: Task[] = [];
      const failures: Failure[] = [];
      const arns = identifiers.map((identifier) => taskArnFrom(ctx, cluster.name, identifier));
      // One statement for the whole list (at most 100), not one per task.
      const rows = new Map(
        (
          await store
            .selectFrom("tasks")
            .selectAll()
            .where(anyOf(store, "arn", [...new Set(arns)]))
            .execute()
        ).map((row) => [row.arn, row]),
      );
      for (const taskArn of arns) {
        const row = rows.get(taskArn);
        if (row === undefined || row.cluster_name !== cluster.name) {
          failures.push({ arn: taskArn, reason: "MISSING" });
          continue;
        }
        tasks.push(await withTags(readTask(row), includeTags));
      }
      return { tasks, failures };
    },

    listTasks: async (input) => {
      const cluster = await findActiveCluster(store, input.cluster);
      if (input.launchType !== undefined && input.launchType !== "FARGATE") return { taskArns: [] };
      let query = store
        .selectFrom("tasks")
        .select("arn")
        .where("cluster_name", "=", clusterName(cluster.name))
        .where("desired_status", "=", input.desiredStatus ?? "RUNNING");
      if (input.family !== undefined) query = query.where("family", "=", input.family);
      if (input.startedBy !== undefined) query = query.where("started_by", "=", input.startedBy);
      if (input.serviceName !== undefined)
        query = query.where("group_name", "=", `service:${input.serviceName}`);
      // Fargate has no container instances; Berth lets the filter name a host instead.
      if (input.containerInstance !== undefined)
        query = query.where("host_id", "=", input.containerInstance);
      const rows = await query.orderBy("created_at").orderBy("arn").execute();
      const { items, nextToken } = page(rows, input, 100);
      return { taskArns: items.map((row) => row.arn), nextToken };
    },
  } satisfies Handlers<ECS>;
}
