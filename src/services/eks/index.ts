/**
 * Amazon EKS (REST-JSON, signing name `eks`): clusters, Fargate profiles and tags. The front door
 * picks each action by the model's method and URI template; adding an action is adding a handler.
 * The Kubernetes API a cluster serves is src/kube.
 */
import type { EKS } from "@aws-sdk/client-eks";
import {
  actionTable,
  loadServiceModel,
  type AwsRestJsonService,
  resourcesByMember,
} from "../../aws/index.js";
import { arn } from "../../core/index.js";
import type { Store } from "../../store/index.js";
import { clusterHandlers, type EksClusterHooks } from "./clusters.js";
import { fargateProfileHandlers } from "./fargate-profiles.js";
import { tagHandlers } from "./tags.js";

export type { EksClusterHooks } from "./clusters.js";

export function createEksService({
  store,
  hooks,
}: {
  store: Store;
  hooks: EksClusterHooks;
}): AwsRestJsonService {
  const clusters = clusterHandlers(store, hooks);
  const profiles = fargateProfileHandlers(store);
  const tags = tagHandlers(store);
  const service: AwsRestJsonService = {
    signingName: "eks",
    model: loadServiceModel("eks"),
    validationErrorCode: "InvalidParameterException",
    actions: actionTable<EKS>(clusters, profiles, tags),
  };
  // What each action acts on, for IAM: the resource its input names, else `*`.
  return {
    ...service,
    resources: resourcesByMember(
      Object.keys(service.actions),
      ["clusterName", "name"],
      (name, ctx) => arn(ctx.identity, "eks", `cluster/${name}`),
    ),
  };
}
