/**
 * Amazon ECR (`AmazonEC2ContainerRegistry_V20150921`): the table of actions Berth answers.
 * Adding an action is adding its handler to a group of the table; the front door validates
 * its input against the model.
 */
import type * as ecr from "@aws-sdk/client-ecr";
import {
  actionTable,
  loadServiceModel,
  type AwsJsonService,
  resourcesByMember,
} from "../../aws/index.js";
import { arn } from "../../core/index.js";
import { encodeAuthorizationToken, mintRegistryPassword } from "../../registry/index.js";
import type { EcrDependencies } from "./context.js";
import { imageHandlers } from "./images.js";
import { lifecycleHandlers } from "./lifecycle.js";
import { ecrModelSupplement } from "./model-supplement.js";
import { policyHandlers } from "./policies.js";
import { putImageHandler } from "./put-image.js";
import { repositoryHandlers } from "./repositories.js";

export type { EcrDependencies } from "./context.js";

export function createEcrService(deps: EcrDependencies): AwsJsonService {
  const repositories = repositoryHandlers(deps);
  const images = imageHandlers(deps);
  const lifecycle = lifecycleHandlers(deps);
  const policies = policyHandlers(deps);
  const service: AwsJsonService = {
    targetPrefix: "AmazonEC2ContainerRegistry_V20150921",
    signingName: "ecr",
    model: loadServiceModel("ecr", ecrModelSupplement),
    // ECR answers constraint violations with InvalidParameterException.
    validationErrorCode: "InvalidParameterException",
    actions: actionTable<ecr.ECR>(repositories, images, policies, lifecycle, {
      getAuthorizationToken: async (input, ctx) => {
        const credentials = await deps.credentials(ctx.accessKeyId);
        if (credentials === undefined) throw new Error("verified caller has no credentials");
        const { password, expiresAt } = mintRegistryPassword(credentials, ctx.clock.now());
        const data: ecr.AuthorizationData = {
          authorizationToken: encodeAuthorizationToken(password),
          expiresAt,
          proxyEndpoint: deps.endpoint(),
        };
        // ECR gives one entry per registryId asked for; all of Berth's are the one registry.
        return { authorizationData: (input.registryIds ?? [undefined]).map(() => data) };
      },
      putImage: putImageHandler(deps),
    }),
  };
  // What each action acts on, for IAM: the resource its input names, else `*`.
  return {
    ...service,
    resources: resourcesByMember(Object.keys(service.actions), ["repositoryName"], (name, ctx) =>
      arn(ctx.identity, "ecr", `repository/${name}`),
    ),
  };
}
