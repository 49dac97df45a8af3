/**
 * Application Auto Scaling (`AnyScaleFrontendService`, signing name `application-autoscaling`)
 * for ECS services' desired count. Adding an action is adding a row; the front door validates
 * input against the model. The autoscaler that acts on these records is in src/control.
 */
import { action, loadServiceModel, type AwsJsonService } from "../../aws/index.js";
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
      RegisterScalableTarget: action(targets.registerScalableTarget),
      DescribeScalableTargets: action(targets.describeScalableTargets),
      DeregisterScalableTarget: action(targets.deregisterScalableTarget),
      PutScalingPolicy: action(policies.putScalingPolicy),
      DescribeScalingPolicies: action(policies.describeScalingPolicies),
      DeleteScalingPolicy: action(policies.deleteScalingPolicy),
      DescribeScalingActivities: action(activities.describeScalingActivities),
      PutScheduledAction: action(scheduled.putScheduledAction),
      DescribeScheduledActions: action(scheduled.describeScheduledActions),
      DeleteScheduledAction: action(scheduled.deleteScheduledAction),
    },
  };
}
