/**
 * Scaling policies: PutScalingPolicy (TargetTrackingScaling on ECS's CPU, memory and ALB
 * request metrics; StepScaling with its adjustments), DescribeScalingPolicies,
 * DeleteScalingPolicy. A target tracking policy answers with the two alarms AWS would create
 * for it; the autoscaler evaluates them itself.
 */
import type {
  ApplicationAutoScaling,
  Alarm,
  ScalingPolicy,
  StepScalingPolicyConfiguration,
  TargetTrackingScalingPolicyConfiguration,
} from "@aws-sdk/client-application-auto-scaling";
import { randomUUID } from "node:crypto";
import type { Handlers } from "../../aws/index.js";
import { arn, type Identity } from "../../core/index.js";
import { findTarget, readPolicy } from "../../control/index.js";
import type { Store } from "../../store/index.js";
import { describeResource, objectNotFound, targetNotRegistered, validation } from "./errors.js";
import { describeNamed, findNamed, saveNamed } from "./named-rows.js";
import { resourceOf } from "./scope.js";

/** The predefined metrics an ECS service can track. */
const ECS_METRICS = new Set([
  "ECSServiceAverageCPUUtilization",
  "ECSServiceAverageMemoryUtilization",
  "ALBRequestCountPerTarget",
]);

function checkTargetTracking(config: TargetTrackingScalingPolicyConfiguration | undefined): void {
  if (config === undefined)
    throw validation(
      "TargetTrackingScalingPolicyConfiguration is required for TargetTrackingScaling",
    );
  // Berth has no CloudWatch to read a customized metric from; AWS accepts one.
  if (config.CustomizedMetricSpecification !== undefined)
    throw validation(
      "Berth tracks predefined metrics only; CustomizedMetricSpecification is not supported.",
    );
  const spec = config.PredefinedMetricSpecification;
  if (spec === undefined)
    throw validation(
      "Either PredefinedMetricSpecification or CustomizedMetricSpecification must be specified",
    );
  if (!ECS_METRICS.has(spec.PredefinedMetricType ?? ""))
    throw validation(
      `Unsupported predefined metric type ${spec.PredefinedMetricType ?? ""} for service namespace ecs`,
    );
  if (spec.PredefinedMetricType === "ALBRequestCountPerTarget") {
    if (!/^app\/[^/]+\/[^/]+\/targetgroup\/[^/]+\/[^/]+$/.test(spec.ResourceLabel ?? ""))
      throw validation(
        "ResourceLabel must be app/<load-balancer-name>/<load-balancer-id>/targetgroup/<target-group-name>/<target-group-id> for ALBRequestCountPerTarget",
      );
  } else if (spec.ResourceLabel !== undefined)
    throw validation(`ResourceLabel is only valid with ALBRequestCountPerTarget`);
  if ((config.TargetValue ?? 0) <= 0) throw validation("TargetValue must be greater than 0");
}

function checkStepScaling(config: StepScalingPolicyConfiguration | undefined): void {
  if (config?.AdjustmentType === undefined || (config.StepAdjustments ?? []).length === 0)
    throw validation(
      "StepScalingPolicyConfiguration with AdjustmentType and StepAdjustments is required for StepScaling",
    );
  if (
    config.MinAdjustmentMagnitude !== undefined &&
    config.AdjustmentType !== "PercentChangeInCapacity"
  )
    throw validation("MinAdjustmentMagnitude is only valid with PercentChangeInCapacity");
  const steps = [...(config.StepAdjustments ?? [])].sort(
    (a, b) => (a.MetricIntervalLowerBound ?? -Infinity) - (b.MetricIntervalLowerBound ?? -Infinity),
  );
  for (const [i, step] of steps.entries()) {
    const lower = step.MetricIntervalLowerBound ?? -Infinity;
    const upper = step.MetricIntervalUpperBound ?? Infinity;
    if (lower >= upper)
      throw validation("Step adjustment's upper bound must be greater than its lower bound");
    const next = steps[i + 1];
    if (next !== undefined && (next.MetricIntervalLowerBound ?? -Infinity) !== upper)
      throw validation("Step adjustments must not overlap or have gaps");
  }
}

/** The alarms AWS names for a target tracking policy: TargetTracking-<resource>-AlarmHigh/Low-<uuid>. */
function trackingAlarms(identity: Identity, resourceId: string): Alarm[] {
  return ["AlarmHigh", "AlarmLow"].map((which) => {
    const name = `TargetTracking-${resourceId}-${which}-${randomUUID()}`;
    return { AlarmName: name, AlarmARN: arn(identity, "cloudwatch", `alarm:${name}`) };
  });
}

export function policyHandlers(store: Store) {
  return {
    putScalingPolicy: async (input, ctx) => {
      const resource = await resourceOf(store, input, false);
      if ((await findTarget(store, resource)) === undefined) throw targetNotRegistered(resource);
      const type = input.PolicyType ?? "StepScaling";
      if (type === "TargetTrackingScaling")
        checkTargetTracking(input.TargetTrackingScalingPolicyConfiguration);
      else if (type === "StepScaling") checkStepScaling(input.StepScalingPolicyConfiguration);
      else throw validation(`Unsupported policy type ${type} for service namespace ecs`);
      const name = input.PolicyName ?? "";
      const existing = await findNamed(store, "scaling_policies", resource, name);
      const previous = existing === undefined ? undefined : readPolicy(existing.document);
      const policyArn =
        existing?.arn ??
        arn(
          ctx.identity,
          "autoscaling",
          `scalingPolicy:${randomUUID()}:resource/${resource.namespace}/${resource.resourceId}:policyName/${name}`,
        );
      const alarms =
        type === "TargetTrackingScaling"
          ? previous?.PolicyType === type && previous.Alarms !== undefined
            ? previous.Alarms
            : trackingAlarms(ctx.identity, resource.resourceId)
          : [];
      const policy: ScalingPolicy = {
        PolicyARN: policyArn,
        PolicyName: name,
        ServiceNamespace: "ecs",
        ResourceId: resource.resourceId,
        ScalableDimension: "ecs:service:DesiredCount",
        PolicyType: type,
        ...(type === "TargetTrackingScaling"
          ? {
              TargetTrackingScalingPolicyConfiguration:
                input.TargetTrackingScalingPolicyConfiguration,
            }
          : { StepScalingPolicyConfiguration: input.StepScalingPolicyConfiguration }),
        Alarms: alarms,
        CreationTime: previous?.CreationTime ?? ctx.clock.now(),
      };
      const document = JSON.stringify(policy);
      await saveNamed(store, "scaling_policies", existing !== undefined, {
        arn: policyArn,
        resource,
        name,
        document,
        now: ctx.clock.now(),
      });
      return { PolicyARN: policyArn, Alarms: alarms };
    },

    describeScalingPolicies: async (input) => {
      const { items, ...next } = await describeNamed(
        store,
        "scaling_policies",
        input,
        input.PolicyNames,
      );
      return { ScalingPolicies: items.map(readPolicy), ...next };
    },

    deleteScalingPolicy: async (input) => {
      const resource = await resourceOf(store, input, false);
      const existing = await findNamed(store, "scaling_policies", resource, input.PolicyName ?? "");
      if (existing === undefined)
        throw objectNotFound(
          `No scaling policy found for ${describeResource(resource)}, policy name: ${input.PolicyName ?? ""}`,
        );
      await store.deleteFrom("scaling_policies").where("arn", "=", existing.arn).execute();
      return {};
    },
  } satisfies Handlers<ApplicationAutoScaling>;
}
