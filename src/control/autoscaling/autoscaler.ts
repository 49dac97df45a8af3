/**
 * The autoscaler: once per metric period it closes the period's datapoints (ServiceMetrics),
 * runs the scheduled actions that came due, and evaluates every ECS scalable target's
 * target tracking policies. A change of desired count goes through the ECS layer's own
 * UpdateService path (`setDesiredCount`), clamped to the target's min and max, and is recorded
 * as a scaling activity with Application Auto Scaling's texts. Level-triggered: it re-reads
 * targets, policies and actions from the store on every pass.
 */
import type {
  ScalingPolicy,
  TargetTrackingScalingPolicyConfiguration,
} from "@aws-sdk/client-application-auto-scaling";
import type { Clock, Logger } from "../../core/index.js";
import type { Store } from "../../store/index.js";
import type { MetricsSnapshot, ServiceDatapoint, ServiceMetrics } from "../metrics/index.js";
import { clamp, decideScaling, type PolicyProposal } from "./decision.js";
import { latestFiring, parseSchedule } from "./schedule.js";
import {
  ECS_NAMESPACE,
  findTarget,
  parseServiceResourceId,
  readPolicy,
  readScheduledAction,
  readTarget,
  recordActivity,
  saveTarget,
  type ScalableResource,
  type StoredTarget,
} from "./state.js";
import { observe, targetTrackingProposal, type AlarmCounts } from "./target-tracking.js";

/** Sets an ECS service's desired count the way UpdateService does. */
export type DesiredCountSetter = (
  cluster: string,
  service: string,
  desiredCount: number,
) => Promise<void>;

export interface AutoscalerOptions {
  store: Store;
  clock: Clock;
  log: Logger;
  metrics: ServiceMetrics;
  /** One datapoint per period: AWS's one minute, or `--metric-period-seconds`. */
  periodMs: number;
  setDesiredCount: DesiredCountSetter;
}

/** ECS's default cooldowns are 300 s: five one-minute periods, so they scale with the period. */
const DEFAULT_COOLDOWN_PERIODS = 5;

export class Autoscaler {
  readonly #alarms = new Map<string, AlarmCounts>();
  /** The last not-scaled reason recorded per resource, so a blocked alarm is recorded once. */
  readonly #notScaled = new Map<string, string>();
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> = Promise.resolve();
  #lastPass: number | undefined;

  constructor(private readonly options: AutoscalerOptions) {}

  start(): void {
    this.#timer = setInterval(() => {
      this.#running = this.#running.then(() =>
        this.pass().catch((error: unknown) =>
          this.options.log.error("autoscaler pass failed", { error: String(error) }),
        ),
      );
    }, this.options.periodMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#running;
  }

  /** One period: datapoints, due scheduled actions, then policies. */
  async pass(): Promise<void> {
    const now = this.options.clock.now().getTime();
    const snapshot = await this.options.metrics.collect(now);
    await this.#runScheduledActions(this.#lastPass ?? now - this.options.periodMs, now);
    const rows = await this.options.store
      .selectFrom("scalable_targets")
      .selectAll()
      .where("namespace", "=", ECS_NAMESPACE)
      .execute();
    for (const row of rows) {
      const resource = {
        namespace: row.namespace,
        resourceId: row.resource_id,
        dimension: row.dimension,
      };
      // One target's failure (its service deleted meanwhile, say) leaves the others scaling.
      await this.#scaleTarget(resource, row.arn, readTarget(row.document), snapshot, now).catch(
        (error: unknown) =>
          this.options.log.warn("scaling a target failed", {
            resourceId: row.resource_id,
            error: String(error),
          }),
      );
    }
    this.#lastPass = now;
  }

  async #scaleTarget(
    resource: ScalableResource,
    arn: string,
    stored: StoredTarget,
    snapshot: MetricsSnapshot,
    now: number,
  ): Promise<void> {
    const { store } = this.options;
    const parsed = parseServiceResourceId(resource.resourceId);
    if (parsed === undefined) return;
    const service = await store
      .selectFrom("services")
      .select(["desired_count", "status"])
      .where("cluster_name", "=", parsed.cluster)
      .where("name", "=", parsed.service)
      .executeTakeFirst();
    if (service?.status !== "ACTIVE") return;
    const current = service.desired_count;
    const min = stored.target.MinCapacity ?? 0;
    const max = stored.target.MaxCapacity ?? 0;
    const suspended = stored.target.SuspendedState ?? {};

    // A min or max moved past the desired count (RegisterScalableTarget, a scheduled action).
    // AWS leaves a desired count set by hand outside the bounds until its next scaling
    // activity; Berth moves any desired count into the bounds at once.
    const bounded = clamp(current, min, max);
    if (bounded !== current) {
      await this.#apply(resource, parsed, bounded, boundCause(current, min, max), now);
      return;
    }

    const datapoint = snapshot.services.find(
      (s) => s.cluster === parsed.cluster && s.service === parsed.service,
    );
    const policies = await store
      .selectFrom("scaling_policies")
      .select("document")
      .where("namespace", "=", resource.namespace)
      .where("resource_id", "=", resource.resourceId)
      .where("dimension", "=", resource.dimension)
      .execute();
    const defaultCooldownMs = DEFAULT_COOLDOWN_PERIODS * this.options.periodMs;
    const proposals: PolicyProposal[] = [];
    for (const policy of policies.map((p) => readPolicy(p.document))) {
      const config = policy.TargetTrackingScalingPolicyConfiguration;
      // Step policies act on CloudWatch alarms, which Berth does not have: they never fire here.
      if (policy.PolicyType !== "TargetTrackingScaling" || config === undefined) continue;
      const counts = this.#alarmCounts(policy.PolicyARN ?? "");
      const value = metricValue(config, datapoint, snapshot);
      const target = config.TargetValue ?? 0;
      observe(counts, value, target);
      proposals.push({
        policyName: policy.PolicyName ?? "",
        proposal: targetTrackingProposal(
          counts,
          value,
          target,
          current,
          config.DisableScaleIn === true,
        ),
        scalesIn: config.DisableScaleIn !== true,
        scaleOutCooldownMs:
          config.ScaleOutCooldown === undefined
            ? defaultCooldownMs
            : config.ScaleOutCooldown * 1000,
        scaleInCooldownMs:
          config.ScaleInCooldown === undefined ? defaultCooldownMs : config.ScaleInCooldown * 1000,
      });
    }
    const decision = decideScaling(
      current,
      min,
      max,
      proposals,
      stored.extras.lastScaleOutAt,
      stored.extras.lastScaleInAt,
      now,
      {
        out: suspended.DynamicScalingOutSuspended === true,
        in: suspended.DynamicScalingInSuspended === true,
      },
    );
    if (decision === undefined) return;
    const policy = policies
      .map((p) => readPolicy(p.document))
      .find((p) => p.PolicyName === decision.policyName);
    const cause = `monitor alarm ${alarmName(policy, decision.alarm)} in state ALARM triggered policy ${decision.policyName}`;
    if (decision.notScaled !== undefined) {
      await this.#recordNotScaled(resource, decision.notScaled, cause, { min, max }, now);
      return;
    }
    this.#notScaled.delete(resource.resourceId);
    await this.#apply(resource, parsed, decision.capacity, cause, now);
    if (decision.direction === "out") stored.extras.lastScaleOutAt = now;
    else stored.extras.lastScaleInAt = now;
    await saveTarget(store, arn, stored);
    // A new capacity starts each alarm's count afresh, as the metric moves with it.
    for (const p of policies.map((row) => readPolicy(row.document)))
      this.#alarms.delete(p.PolicyARN ?? "");
  }

  async #apply(
    resource: ScalableResource,
    parsed: { cluster: string; service: string },
    capacity: number,
    cause: string,
    now: number,
  ): Promise<void> {
    await this.options.setDesiredCount(parsed.cluster, parsed.service, capacity);
    await recordActivity(
      this.options.store,
      resource,
      {
        Description: `Setting desired count to ${capacity}.`,
        Cause: cause,
        StatusCode: "Successful",
        StatusMessage: `Successfully set desired count to ${capacity}. Change successfully fulfilled by ecs.`,
      },
      new Date(now),
    );
    this.options.log.info("scaled a service", { resourceId: resource.resourceId, capacity, cause });
  }

  /**
   * A proposal the target's max or min blocks: recorded as AWS records it (shown with
   * IncludeNotScaledActivities), once per reason until the target scales again — AWS repeats it
   * every minute, which at one-second periods would crowd out the activities that matter.
   */
  async #recordNotScaled(
    resource: ScalableResource,
    code: "AlreadyAtMaxCapacity" | "AlreadyAtMinCapacity",
    cause: string,
    bounds: { min: number; max: number },
    now: number,
  ): Promise<void> {
    if (this.#notScaled.get(resource.resourceId) === code) return;
    this.#notScaled.set(resource.resourceId, code);
    await recordActivity(
      this.options.store,
      resource,
      {
        Description: "Attempting to scale due to alarm triggered",
        Cause: cause,
        StatusCode: "Failed",
        NotScaledReasons: [
          code === "AlreadyAtMaxCapacity"
            ? { Code: code, MaxCapacity: bounds.max }
            : { Code: code, MinCapacity: bounds.min },
        ],
      },
      new Date(now),
    );
  }

  #alarmCounts(policyArn: string): AlarmCounts {
    let counts = this.#alarms.get(policyArn);
    if (counts === undefined) {
      counts = { high: 0, low: 0 };
      this.#alarms.set(policyArn, counts);
    }
    return counts;
  }

  /** Every scheduled action with a firing in `(from, now]` sets its target's min and max. */
  async #runScheduledActions(from: number, now: number): Promise<void> {
    const { store } = this.options;
    const rows = await store
      .selectFrom("scheduled_actions")
      .selectAll()
      .where("namespace", "=", ECS_NAMESPACE)
      .execute();
    for (const row of rows) {
      const action = readScheduledAction(row.document);
      const start = action.StartTime?.getTime() ?? -Infinity;
      const end = action.EndTime?.getTime() ?? Infinity;
      const since = Math.max(from, row.last_run_at ?? row.created_at, start - 1);
      const firing = latestFiring(
        parseSchedule(action.Schedule ?? ""),
        action.Timezone ?? "UTC",
        since,
        Math.min(now, end),
        action.StartTime?.getTime() ?? row.created_at,
      );
      if (firing === undefined) continue;
      await store
        .updateTable("scheduled_actions")
        .set({ last_run_at: firing })
        .where("arn", "=", row.arn)
        .execute();
      const resource = {
        namespace: row.namespace,
        resourceId: row.resource_id,
        dimension: row.dimension,
      };
      const found = await findTarget(store, resource);
      if (found === undefined) continue;
      const { stored } = found;
      if (stored.target.SuspendedState?.ScheduledScalingSuspended === true) continue;
      const { MinCapacity, MaxCapacity } = action.ScalableTargetAction ?? {};
      if (MinCapacity !== undefined) stored.target.MinCapacity = MinCapacity;
      if (MaxCapacity !== undefined) stored.target.MaxCapacity = MaxCapacity;
      await saveTarget(store, found.arn, stored);
      await recordActivity(
        store,
        resource,
        {
          Description: `Setting min capacity to ${stored.target.MinCapacity ?? 0} and max capacity to ${stored.target.MaxCapacity ?? 0}`,
          Cause: `scheduled action name ${action.ScheduledActionName ?? ""} was triggered`,
          StatusCode: "Successful",
          StatusMessage: `Successfully set min capacity to ${stored.target.MinCapacity ?? 0} and max capacity to ${stored.target.MaxCapacity ?? 0}`,
        },
        new Date(now),
      );
    }
  }
}

/** Why a desired count was moved into the target's bounds (our words; AWS's are not recorded). */
function boundCause(current: number, min: number, max: number): string {
  return current < min
    ? `minimum capacity was set to ${min}`
    : `maximum capacity was set to ${max}`;
}

function alarmName(policy: ScalingPolicy | undefined, which: string): string {
  return policy?.Alarms?.find((a) => a.AlarmName?.includes(`-${which}-`))?.AlarmName ?? which;
}

/** The datapoint a target tracking policy tracks, from this period's snapshot. */
function metricValue(
  config: TargetTrackingScalingPolicyConfiguration,
  datapoint: ServiceDatapoint | undefined,
  snapshot: MetricsSnapshot,
): number | undefined {
  const spec = config.PredefinedMetricSpecification;
  switch (spec?.PredefinedMetricType) {
    case "ECSServiceAverageCPUUtilization":
      return datapoint?.cpuUtilization;
    case "ECSServiceAverageMemoryUtilization":
      return datapoint?.memoryUtilization;
    case "ALBRequestCountPerTarget": {
      const group = targetGroupOfLabel(spec.ResourceLabel ?? "");
      const requests = [...snapshot.targetGroups].find(
        ([arn]) => group !== undefined && arn.endsWith(`:${group}`),
      )?.[1];
      if (requests === undefined || requests.targets === 0) return undefined;
      return requests.inPeriod / requests.targets;
    }
    default:
      return undefined;
  }
}

/** `app/LB/ID/targetgroup/TG/ID` -> the ARN suffix `targetgroup/TG/ID` its target group ends in. */
function targetGroupOfLabel(label: string): string | undefined {
  const match = /^app\/[^/]+\/[^/]+\/(targetgroup\/[^/]+\/[^/]+)$/.exec(label);
  return match?.[1];
}
