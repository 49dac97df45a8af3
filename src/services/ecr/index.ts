/**
 * Amazon ECR (`AmazonEC2ContainerRegistry_V20150921`): the table of actions Berth answers.
 * Adding an action is adding a row; the front door validates its input against the model.
 */
import type * as ecr from "@aws-sdk/client-ecr";
import {
  action,
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
    actions: {
      GetAuthorizationToken: action<
        ecr.GetAuthorizationTokenRequest,
        ecr.GetAuthorizationTokenResponse
      >(async (input, ctx) => {
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
      }),
      CreateRepository: action<ecr.CreateRepositoryRequest, ecr.CreateRepositoryResponse>(
        repositories.createRepository,
      ),
      DescribeRepositories: action<
        ecr.DescribeRepositoriesRequest,
        ecr.DescribeRepositoriesResponse
      >(repositories.describeRepositories),
      DeleteRepository: action<ecr.DeleteRepositoryRequest, ecr.DeleteRepositoryResponse>(
        repositories.deleteRepository,
      ),
      PutImageTagMutability: action<
        ecr.PutImageTagMutabilityRequest,
        ecr.PutImageTagMutabilityResponse
      >(repositories.putImageTagMutability),
      DescribeRegistry: action<ecr.DescribeRegistryRequest, ecr.DescribeRegistryResponse>(
        repositories.describeRegistry,
      ),
      TagResource: action<ecr.TagResourceRequest, ecr.TagResourceResponse>(
        repositories.tagResource,
      ),
      UntagResource: action<ecr.UntagResourceRequest, ecr.UntagResourceResponse>(
        repositories.untagResource,
      ),
      ListTagsForResource: action<ecr.ListTagsForResourceRequest, ecr.ListTagsForResourceResponse>(
        repositories.listTagsForResource,
      ),
      ListImages: action<ecr.ListImagesRequest, ecr.ListImagesResponse>(images.listImages),
      DescribeImages: action<ecr.DescribeImagesRequest, ecr.DescribeImagesResponse>(
        images.describeImages,
      ),
      BatchGetImage: action<ecr.BatchGetImageRequest, ecr.BatchGetImageResponse>(
        images.batchGetImage,
      ),
      BatchDeleteImage: action<ecr.BatchDeleteImageRequest, ecr.BatchDeleteImageResponse>(
        images.batchDeleteImage,
      ),
      SetRepositoryPolicy: action<ecr.SetRepositoryPolicyRequest, ecr.SetRepositoryPolicyResponse>(
        policies.setRepositoryPolicy,
      ),
      GetRepositoryPolicy: action<ecr.GetRepositoryPolicyRequest, ecr.GetRepositoryPolicyResponse>(
        policies.getRepositoryPolicy,
      ),
      DeleteRepositoryPolicy: action<
        ecr.DeleteRepositoryPolicyRequest,
        ecr.DeleteRepositoryPolicyResponse
      >(policies.deleteRepositoryPolicy),
      PutImageScanningConfiguration: action<
        ecr.PutImageScanningConfigurationRequest,
        ecr.PutImageScanningConfigurationResponse
      >(policies.putImageScanningConfiguration),
      PutImage: action<ecr.PutImageRequest, ecr.PutImageResponse>(putImageHandler(deps)),
      BatchCheckLayerAvailability: action<
        ecr.BatchCheckLayerAvailabilityRequest,
        ecr.BatchCheckLayerAvailabilityResponse
      >(images.batchCheckLayerAvailability),
      PutLifecyclePolicy: action<ecr.PutLifecyclePolicyRequest, ecr.PutLifecyclePolicyResponse>(
        lifecycle.putLifecyclePolicy,
      ),
      GetLifecyclePolicy: action<ecr.GetLifecyclePolicyRequest, ecr.GetLifecyclePolicyResponse>(
        lifecycle.getLifecyclePolicy,
      ),
      DeleteLifecyclePolicy: action<
        ecr.DeleteLifecyclePolicyRequest,
        ecr.DeleteLifecyclePolicyResponse
      >(lifecycle.deleteLifecyclePolicy),
      StartLifecyclePolicyPreview: action<
        ecr.StartLifecyclePolicyPreviewRequest,
        ecr.StartLifecyclePolicyPreviewResponse
      >(lifecycle.startLifecyclePolicyPreview),
      GetLifecyclePolicyPreview: action<
        ecr.GetLifecyclePolicyPreviewRequest,
        ecr.GetLifecyclePolicyPreviewResponse
      >(lifecycle.getLifecyclePolicyPreview),
    },
  };
  // What each action acts on, for IAM: the resource its input names, else `*`.
  return {
    ...service,
    resources: resourcesByMember(Object.keys(service.actions), ["repositoryName"], (name, ctx) =>
      arn(ctx.identity, "ecr", `repository/${name}`),
    ),
  };
}
