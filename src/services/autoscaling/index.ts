/**
 * Application Auto Scaling (`AnyScaleFrontendService`, signing name `application-autoscaling`)
 * for ECS services' desired count. Adding an action is adding a row; the front door validates
 * input against the model. The autoscaler that acts on these records is in src/control.
 */
import type { ApplicationAutoScaling } from "@aws-sdk/client-application-auto-scaling";
import { type ActionTable, loadServiceModel, type AwsJsonService } from "../../aws/index.js";
import type { Store } from "../../store/index.js";
import { activityHandlers } from "./activities.js";
import { policyHandlers } from "./policies.js";
import { scheduledActionHandlers } from "./scheduled-actions.js";
import { targetHandlers } from "./targets.js";

export function createAutoscalingService({ store }: { store: Store }): AwsJsonService {
  const targets = targetHandlers(store);
  const policies = policyHandlers(store);
  const scheduled = scheduledActionHandlers(store);
  const activities = activityHandlers(store);
  return {
    targetPrefix: "AnyScaleFrontendService",
    signingName: "application-autoscaling",
    model: loadServiceModel("application-autoscaling"),
    validationErrorCode: "ValidationException",
    actions: {
      RegisterScalableTarget: targets.registerScalableTarget,
      DescribeScalableTargets: targets.describeScalableTargets,
      DeregisterScalableTarget: targets.deregisterScalableTarget,
      PutScalingPolicy: policies.putScalingPolicy,
      DescribeScalingPolicies: policies.describeScalingPolicies,
      DeleteScalingPolicy: policies.deleteScalingPolicy,
      DescribeScalingActivities: activities.describeScalingActivities,
      PutScheduledAction: scheduled.putScheduledAction,
      DescribeScheduledActions: scheduled.describeScheduledActions,
      DeleteScheduledAction: scheduled.deleteScheduledAction,
    } satisfies ActionTable<ApplicationAutoScaling>,
  };
}
