/**
 * Finding tasks for `berth logs`, `exec`, `stop` and `ps` the way docker users expect: a task id
 * is looked up in every cluster (ids are unique), an ARN in the cluster it names, and `--cluster`
 * narrows both. ECS itself looks an id up in one cluster only (the default unless told).
 */
import {
  DescribeTasksCommand,
  ListClustersCommand,
  ListTasksCommand,
  type DesiredStatus,
  type ECSClient,
  type Task,
} from "@aws-sdk/client-ecs";
import { BerthError, parseArn } from "../core/index.js";

/** Every cluster's ARN, every page. */
export async function listClusterArns(ecs: ECSClient): Promise<string[]> {
  const arns: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await ecs.send(new ListClustersCommand({ nextToken }));
    arns.push(...(page.clusterArns ?? []));
    nextToken = page.nextToken;
  } while (nextToken !== undefined);
  return arns;
}

/** The cluster named in a task ARN (`task/CLUSTER/ID`), or undefined for an id or an old-style ARN. */
export function clusterOfTaskArn(reference: string): string | undefined {
  const parsed = parseArn(reference);
  if (parsed?.service !== "ecs") return undefined;
  const parts = parsed.resource.split("/");
  return parts[0] === "task" && parts.length === 3 ? parts[1] : undefined;
}

/** A cluster's name from its ARN (or the name itself). */
export function clusterName(cluster: string): string {
  return cluster.slice(cluster.lastIndexOf("/") + 1);
}

async function describeIn(
  ecs: ECSClient,
  cluster: string | undefined,
  reference: string,
): Promise<Task | undefined> {
  const { tasks = [] } = await ecs.send(new DescribeTasksCommand({ cluster, tasks: [reference] }));
  return tasks[0];
}

/** One task by id or ARN, described; a one-line error when no cluster has it. */
export async function findTask(
  ecs: ECSClient,
  cluster: string | undefined,
  reference: string,
): Promise<Task> {
  const named = clusterOfTaskArn(reference) ?? cluster;
  if (named !== undefined) {
    const task = await describeIn(ecs, named, reference);
    if (task !== undefined) return task;
    throw new BerthError(
      "TaskNotFound",
      `no task ${reference} in cluster ${clusterName(named)}. \`berth ps -a\` lists the tasks of every cluster.`,
    );
  }
  const clusters = await listClusterArns(ecs);
  for (const arn of clusters) {
    const task = await describeIn(ecs, arn, reference);
    if (task !== undefined) return task;
  }
  throw new BerthError(
    "TaskNotFound",
    `no task ${reference} in any of the ${clusters.length} cluster(s). \`berth ps -a\` lists them.`,
  );
}

/** Every task of the given clusters (all of them when none is named) with these desired statuses. */
export async function listTasks(
  ecs: ECSClient,
  cluster: string | undefined,
  statuses: DesiredStatus[],
): Promise<Task[]> {
  const clusters = cluster === undefined ? await listClusterArns(ecs) : [cluster];
  const found: Task[] = [];
  for (const c of clusters) {
    const arns: string[] = [];
    for (const desiredStatus of statuses) {
      let nextToken: string | undefined;
      do {
        const page = await ecs.send(new ListTasksCommand({ cluster: c, desiredStatus, nextToken }));
        arns.push(...(page.taskArns ?? []));
        nextToken = page.nextToken;
      } while (nextToken !== undefined);
    }
    for (let i = 0; i < arns.length; i += 100) {
      const { tasks = [] } = await ecs.send(
        new DescribeTasksCommand({ cluster: c, tasks: arns.slice(i, i + 100) }),
      );
      found.push(...tasks);
    }
  }
  return found;
}
