/**
 * Application Auto Scaling (`AnyScaleFrontendService`, signing name `application-autoscaling`)
 * for ECS services' desired count. Adding an action is adding a row; the front door validates
 * input against the model. The autoscaler that acts on these records is in src/control.
 */
import type * as aas from "@aws-sdk/client-application-auto-scaling";
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
      RegisterScalableTarget: action<
        aas.RegisterScalableTargetRequest,
        aas.RegisterScalableTargetResponse
      >(targets.registerScalableTarget),
      DescribeScalableTargets: action<
        aas.DescribeScalableTargetsRequest,
        aas.DescribeScalableTargetsResponse
      >(targets.describeScalableTargets),
      DeregisterScalableTarget: action<
        aas.DeregisterScalableTargetRequest,
        aas.DeregisterScalableTargetResponse
      >(targets.deregisterScalableTarget),
      PutScalingPolicy: action<aas.PutScalingPolicyRequest, aas.PutScalingPolicyResponse>(
        policies.putScalingPolicy,
      ),
      DescribeScalingPolicies: action<
        aas.DescribeScalingPoliciesRequest,
        aas.DescribeScalingPoliciesResponse
      >(policies.describeScalingPolicies),
      DeleteScalingPolicy: action<aas.DeleteScalingPolicyRequest, aas.DeleteScalingPolicyResponse>(
        policies.deleteScalingPolicy,
      ),
      DescribeScalingActivities: action<
        aas.DescribeScalingActivitiesRequest,
        aas.DescribeScalingActivitiesResponse
      >(activities.describeScalingActivities),
      PutScheduledAction: action<aas.PutScheduledActionRequest, aas.PutScheduledActionResponse>(
        scheduled.putScheduledAction,
      ),
      DescribeScheduledActions: action<
        aas.DescribeScheduledActionsRequest,
        aas.DescribeScheduledActionsResponse
      >(scheduled.describeScheduledActions),
      DeleteScheduledAction: action<
        aas.DeleteScheduledActionRequest,
        aas.DeleteScheduledActionResponse
      >(scheduled.deleteScheduledAction),
    },
  };
}
