/**
 * Elastic Load Balancing v2 (AWS Query protocol, signing name `elasticloadbalancing`): the table
 * of actions Berth answers for application load balancers. The API keeps the configuration in
 * the store and nudges the data plane (`ElbDataPlane`), which listens and proxies on the host.
 */
import type { ElasticLoadBalancingV2 } from "@aws-sdk/client-elastic-load-balancing-v2";
import {
  actionTable,
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
export { serviceTargets } from "./service-targets.js";
export { DEFAULT_TARGET_CIDRS, parseTargetCidr } from "./target-ranges.js";

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
    actions: actionTable<ElasticLoadBalancingV2>(
      lbs,
      groups,
      listeners,
      rules,
      targets,
      modify,
      tags,
    ),
  };
  // What each action acts on, for IAM: the resource its input names, else `*`.
  return { ...service, resources: resourcesByArnMembers(Object.keys(service.actions)) };
}
