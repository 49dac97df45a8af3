/**
 * Application Auto Scaling (`AnyScaleFrontendService`, signing name `application-autoscaling`)
 * for ECS services' desired count. Adding an action is adding its handler (`putScalingPolicy`
 * serves PutScalingPolicy) to a group of the table; the front door validates input against
 * the model. The autoscaler that acts on these records is in src/control.
 */
import type { ApplicationAutoScaling } from "@aws-sdk/client-application-auto-scaling";
import { actionTable, loadServiceModel, type AwsJsonService } from "../../aws/index.js";
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
    actions: actionTable<ApplicationAutoScaling>(targets, policies, activities, scheduled),
  };
}
