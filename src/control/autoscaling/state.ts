/**
 * Application Auto Scaling's records as the API (services/autoscaling) and the autoscaler
 * share them: the stored AWS documents of scalable targets, policies, scheduled actions and
 * activities, how they are read back, and how an activity is recorded.
 */
import { randomUUID } from "node:crypto";
import type {
  ScalableTarget,
  ScalingActivity,
  ScalingPolicy,
  ScheduledAction,
} from "@aws-sdk/client-application-auto-scaling";
import type { Store } from "../../store/index.js";

/** The one namespace and dimension Berth scales: an ECS service's desired count. */
export const ECS_NAMESPACE = "ecs";
export const ECS_DESIRED_COUNT = "ecs:service:DesiredCount";

/** Which scalable target a record belongs to. */
export interface ScalableResource {
  namespace: string;
  resourceId: string;
  dimension: string;
}

/** What the autoscaler keeps beside the ScalableTarget shape (never shown to clients). */
export interface TargetExtras {
  /** When the last scale-out / scale-in happened (epoch ms), for cooldowns. */
  lastScaleOutAt?: number;
  lastScaleInAt?: number;
}

export interface StoredTarget {
  target: ScalableTarget;
  extras: TargetExtras;
}

/** `service/CLUSTER/SERVICE` -> its parts; undefined when it is not that shape. */
export function parseServiceResourceId(
  resourceId: string,
): { cluster: string; service: string } | undefined {
  const match = /^service\/([^/]+)\/([^/]+)$/.exec(resourceId);
  return match === null ? undefined : { cluster: match[1] ?? "", service: match[2] ?? "" };
}

export function resourceColumns(resource: ScalableResource): {
  namespace: string;
  resource_id: string;
  dimension: string;
} {
  return {
    namespace: resource.namespace,
    resource_id: resource.resourceId,
    dimension: resource.dimension,
  };
}

const revive = (value: unknown): Date | undefined =>
  value === undefined ? undefined : new Date(value as string);

export function readTarget(document: string): StoredTarget {
  const stored = JSON.parse(document) as StoredTarget;
  stored.target.CreationTime = revive(stored.target.CreationTime);
  return stored;
}

export function readPolicy(document: string): ScalingPolicy {
  const policy = JSON.parse(document) as ScalingPolicy;
  policy.CreationTime = revive(policy.CreationTime);
  return policy;
}

export function readScheduledAction(document: string): ScheduledAction {
  const action = JSON.parse(document) as ScheduledAction;
  action.CreationTime = revive(action.CreationTime);
  if (action.StartTime !== undefined) action.StartTime = revive(action.StartTime);
  if (action.EndTime !== undefined) action.EndTime = revive(action.EndTime);
  return action;
}

export function readActivity(document: string): ScalingActivity {
  const activity = JSON.parse(document) as ScalingActivity;
  activity.StartTime = revive(activity.StartTime);
  if (activity.EndTime !== undefined) activity.EndTime = revive(activity.EndTime);
  return activity;
}

export async function findTarget(
  store: Store,
  resource: ScalableResource,
): Promise<{ stored: StoredTarget; arn: string } | undefined> {
  const row = await store
    .selectFrom("scalable_targets")
    .select(["document", "arn"])
    .where("namespace", "=", resource.namespace)
    .where("resource_id", "=", resource.resourceId)
    .where("dimension", "=", resource.dimension)
    .executeTakeFirst();
  return row === undefined ? undefined : { stored: readTarget(row.document), arn: row.arn };
}

export async function saveTarget(store: Store, arn: string, stored: StoredTarget): Promise<void> {
  await store
    .updateTable("scalable_targets")
    .set({ document: JSON.stringify(stored) })
    .where("arn", "=", arn)
    .execute();
}

/** Application Auto Scaling keeps six weeks of activities; Berth keeps the last 1,000 per target. */
const MAX_ACTIVITIES = 1000;

export async function recordActivity(
  store: Store,
  resource: ScalableResource,
  activity: Pick<
    ScalingActivity,
    "Description" | "Cause" | "StatusCode" | "StatusMessage" | "NotScaledReasons"
  >,
  at: Date,
): Promise<ScalingActivity> {
  const full: ScalingActivity = {
    ActivityId: randomUUID(),
    ServiceNamespace: resource.namespace as ScalingActivity["ServiceNamespace"],
    ResourceId: resource.resourceId,
    ScalableDimension: resource.dimension as ScalingActivity["ScalableDimension"],
    Description: activity.Description,
    Cause: activity.Cause,
    StartTime: at,
    ...(activity.NotScaledReasons === undefined ? { EndTime: at } : {}),
    StatusCode: activity.StatusCode,
    ...(activity.StatusMessage === undefined ? {} : { StatusMessage: activity.StatusMessage }),
    ...(activity.NotScaledReasons === undefined
      ? {}
      : { NotScaledReasons: activity.NotScaledReasons }),
  };
  await store
    .insertInto("scaling_activities")
    .values({
      id: full.ActivityId ?? "",
      ...resourceColumns(resource),
      document: JSON.stringify(full),
      started_at: at.getTime(),
    })
    .execute();
  const stale = await store
    .selectFrom("scaling_activities")
    .select("id")
    .where("namespace", "=", resource.namespace)
    .where("resource_id", "=", resource.resourceId)
    .orderBy("started_at", "desc")
    .offset(MAX_ACTIVITIES)
    .limit(100)
    .execute();
  if (stale.length > 0)
    await store
      .deleteFrom("scaling_activities")
      .where(
        "id",
        "in",
        stale.map((r) => r.id),
      )
      .execute();
  return full;
}
