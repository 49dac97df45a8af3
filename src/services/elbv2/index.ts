/**
 * Elastic Load Balancing v2 (AWS Query protocol, signing name `elasticloadbalancing`): the table
 * of actions Berth answers for application load balancers. The API keeps the configuration in
 * the store and nudges the data plane (`ElbDataPlane`), which listens and proxies on the host.
 */
import type * as elb from "@aws-sdk/client-elastic-load-balancing-v2";
import {
  action,
  loadServiceModel,
  type AwsQueryService,
  resourcesByArnMembers,
} from "../../aws/index.js";
import type { Store } from "../../store/index.js";
import { listenerHandlers } from "./listeners.js";
import { loadBalancerHandlers } from "./load-balancers.js";
import type { ElbDataPlane } from "./plane.js";
import { ruleHandlers } from "./rules.js";
import { modifyHandlers } from "./modify.js";
import { tagHandlers } from "./tags.js";
import { targetGroupHandlers } from "./target-groups.js";
import { TargetRanges } from "./target-ranges.js";
import { targetHandlers } from "./targets.js";

export type { ElbDataPlane } from "./plane.js";
export { registerTargets, deregisterTargets, type TargetKey } from "./targets.js";
export { serviceTargets } from "./service-targets.js";
export { DEFAULT_TARGET_CIDRS, parseTargetCidr } from "./target-ranges.js";

type Empty = Record<string, never>;

export function createElbv2Service({
  store,
  plane,
  targetCidrs,
}: {
  store: Store;
  plane: ElbDataPlane;
  /** Where `ip` targets may be (target-ranges.ts); the default task pool when absent. */
  targetCidrs?: readonly string[];
}): AwsQueryService {
  const lbs = loadBalancerHandlers(store, plane);
  const groups = targetGroupHandlers(store, plane);
  const listeners = listenerHandlers(store, plane);
  const rules = ruleHandlers(store, plane);
  const targets = targetHandlers(store, plane, new TargetRanges(targetCidrs));
  const tags = tagHandlers(store);
  const modify = modifyHandlers(store, plane);
  const service: AwsQueryService = {
    signingName: "elasticloadbalancing",
    model: loadServiceModel("elbv2"),
    validationErrorCode: "ValidationError",
    actions: {
      CreateLoadBalancer: action<elb.CreateLoadBalancerInput, elb.CreateLoadBalancerOutput>(
        lbs.createLoadBalancer,
      ),
      DescribeLoadBalancers: action<
        elb.DescribeLoadBalancersInput,
        elb.DescribeLoadBalancersOutput
      >(lbs.describeLoadBalancers),
      DeleteLoadBalancer: action<elb.DeleteLoadBalancerInput, Empty>(lbs.deleteLoadBalancer),
      CreateTargetGroup: action<elb.CreateTargetGroupInput, elb.CreateTargetGroupOutput>(
        groups.createTargetGroup,
      ),
      DescribeTargetGroups: action<elb.DescribeTargetGroupsInput, elb.DescribeTargetGroupsOutput>(
        groups.describeTargetGroups,
      ),
      ModifyTargetGroup: action<elb.ModifyTargetGroupInput, elb.ModifyTargetGroupOutput>(
        groups.modifyTargetGroup,
      ),
      DeleteTargetGroup: action<elb.DeleteTargetGroupInput, Empty>(groups.deleteTargetGroup),
      DescribeTargetGroupAttributes: action<
        elb.DescribeTargetGroupAttributesInput,
        elb.DescribeTargetGroupAttributesOutput
      >(groups.describeTargetGroupAttributes),
      ModifyTargetGroupAttributes: action<
        elb.ModifyTargetGroupAttributesInput,
        elb.ModifyTargetGroupAttributesOutput
      >(groups.modifyTargetGroupAttributes),
      CreateListener: action<elb.CreateListenerInput, elb.CreateListenerOutput>(
        listeners.createListener,
      ),
      DescribeListeners: action<elb.DescribeListenersInput, elb.DescribeListenersOutput>(
        listeners.describeListeners,
      ),
      DeleteListener: action<elb.DeleteListenerInput, Empty>(listeners.deleteListener),
      CreateRule: action<elb.CreateRuleInput, elb.CreateRuleOutput>(rules.createRule),
      DescribeRules: action<elb.DescribeRulesInput, elb.DescribeRulesOutput>(rules.describeRules),
      DeleteRule: action<elb.DeleteRuleInput, Empty>(rules.deleteRule),
      RegisterTargets: action<elb.RegisterTargetsInput, Empty>(targets.registerTargets),
      DeregisterTargets: action<elb.DeregisterTargetsInput, Empty>(targets.deregisterTargets),
      DescribeTargetHealth: action<elb.DescribeTargetHealthInput, elb.DescribeTargetHealthOutput>(
        targets.describeTargetHealth,
      ),
      DescribeLoadBalancerAttributes: action<
        elb.DescribeLoadBalancerAttributesInput,
        elb.DescribeLoadBalancerAttributesOutput
      >(modify.describeLoadBalancerAttributes),
      ModifyLoadBalancerAttributes: action<
        elb.ModifyLoadBalancerAttributesInput,
        elb.ModifyLoadBalancerAttributesOutput
      >(modify.modifyLoadBalancerAttributes),
      ModifyListener: action<elb.ModifyListenerInput, elb.ModifyListenerOutput>(
        modify.modifyListener,
      ),
      ModifyRule: action<elb.ModifyRuleInput, elb.ModifyRuleOutput>(modify.modifyRule),
      SetRulePriorities: action<elb.SetRulePrioritiesInput, elb.SetRulePrioritiesOutput>(
        modify.setRulePriorities,
      ),
      AddTags: action<elb.AddTagsInput, Empty>(tags.addTags),
      RemoveTags: action<elb.RemoveTagsInput, Empty>(tags.removeTags),
      DescribeTags: action<elb.DescribeTagsInput, elb.DescribeTagsOutput>(tags.describeTags),
    },
  };
  // What each action acts on, for IAM: the resource its input names, else `*`.
  return { ...service, resources: resourcesByArnMembers(Object.keys(service.actions)) };
}
