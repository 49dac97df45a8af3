/** ECS task scale-in protection: UpdateTaskProtection and GetTaskProtection. */
import type { ECS, Failure, ProtectedTask } from "@aws-sdk/client-ecs";
import type { RequestContext, Handlers } from "../../aws/index.js";
import {
  DEFAULT_PROTECTION_MINUTES,
  setTaskProtection,
  taskProtection,
} from "../../control/index.js";
import type { Store } from "../../store/index.js";
import { findActiveCluster } from "./clusters.js";
import { invalidParameter } from "./errors.js";
import { taskArnFrom } from "./tasks.js";

/** The cluster's live tasks among `identifiers`, and failures (MISSING) for the rest. */
async function resolveTasks(
  store: Store,
  ctx: RequestContext,
  clusterName: string,
  identifiers: string[] = [],
): Promise<{ taskArns: string[]; failures: Failure[] }> {
  if (identifiers.length > 10) throw invalidParameter("tasks can have at most 10 items.");
  const taskArns: string[] = [];
  const failures: Failure[] = [];
  for (const identifier of identifiers) {
    const taskArn = taskArnFrom(ctx, clusterName, identifier);
    const row = await store
      .selectFrom("tasks")
      .select(["cluster_name", "last_status"])
      .where("arn", "=", taskArn)
      .executeTakeFirst();
    if (row === undefined || row.cluster_name !== clusterName || row.last_status === "STOPPED")
      failures.push({ arn: taskArn, reason: "MISSING" });
    else taskArns.push(taskArn);
  }
  return { taskArns, failures };
}

export function taskProtectionHandlers(store: Store) {
  return {
    updateTaskProtection: async (input, ctx) => {
      const cluster = await findActiveCluster(store, input.cluster);
      const minutes = input.expiresInMinutes ?? DEFAULT_PROTECTION_MINUTES;
      if (minutes < 1 || minutes > 2880)
        throw invalidParameter("expiresInMinutes must be between 1 and 2880.");
      const { taskArns, failures } = await resolveTasks(store, ctx, cluster.name, input.tasks);
      const now = ctx.clock.now().getTime();
      const protectedTasks: ProtectedTask[] = [];
      for (const taskArn of taskArns) {
        const expiresAt = input.protectionEnabled === true ? now + minutes * 60_000 : undefined;
        await setTaskProtection(store, taskArn, expiresAt);
        protectedTasks.push(protectedTask(taskArn, expiresAt));
      }
      return { protectedTasks, failures };
    },

    getTaskProtection: async (input, ctx) => {
      const cluster = await findActiveCluster(store, input.cluster);
      const { taskArns, failures } = await resolveTasks(store, ctx, cluster.name, input.tasks);
      const now = ctx.clock.now().getTime();
      const protectedTasks: ProtectedTask[] = [];
      for (const taskArn of taskArns) {
        protectedTasks.push(protectedTask(taskArn, await taskProtection(store, taskArn, now)));
      }
      return { protectedTasks, failures };
    },
  } satisfies Handlers<ECS>;
}

/** A task's protection as ECS answers it: enabled until `expiresAt` (epoch ms), or not. */
function protectedTask(taskArn: string, expiresAt: number | undefined): ProtectedTask {
  return {
    taskArn,
    protectionEnabled: expiresAt !== undefined,
    ...(expiresAt === undefined ? {} : { expirationDate: new Date(expiresAt) }),
  };
}
