/**
 * ECR lifecycle policies: put (applied at once), get, delete, and the preview. ECR evaluates a
 * new policy within 24 hours; Berth applies it right away and after every push.
 */
import type * as ecr from "@aws-sdk/client-ecr";
import { page, type Handlers } from "../../aws/index.js";
import { LifecyclePolicyInvalid, parseLifecyclePolicy } from "../../registry/index.js";
import { findRepository, type EcrDependencies } from "./context.js";
import { invalidParameter, lifecyclePolicyNotFound, lifecyclePreviewNotFound } from "./errors.js";

function parse(text: string): void {
  try {
    parseLifecyclePolicy(text);
  } catch (error) {
    if (error instanceof LifecyclePolicyInvalid) throw invalidParameter(error.message);
    throw error;
  }
}

export function lifecycleHandlers(deps: EcrDependencies) {
  const registryId = deps.registry.registryId;
  /** The repository's policy as Get and Delete answer it; LifecyclePolicyNotFound without one. */
  const currentPolicy = async (input: { repositoryName?: string; registryId?: string }) => {
    const name = input.repositoryName ?? "";
    const repo = await findRepository(deps, name, input.registryId);
    if (repo.lifecyclePolicy === undefined) throw lifecyclePolicyNotFound(name, registryId);
    const answer = {
      registryId,
      repositoryName: name,
      lifecyclePolicyText: repo.lifecyclePolicy,
      ...(repo.lifecycleEvaluatedAt === undefined
        ? {}
        : { lastEvaluatedAt: repo.lifecycleEvaluatedAt }),
    };
    return { name, answer };
  };
  return {
    putLifecyclePolicy: async (input) => {
      const name = input.repositoryName ?? "";
      await findRepository(deps, name, input.registryId);
      const text = input.lifecyclePolicyText ?? "";
      parse(text);
      await deps.registry.updateRepository(name, { lifecyclePolicy: text });
      // ECR evaluates a new policy within 24 hours; Berth applies it before answering.
      await deps.registry.applyLifecycle(name);
      return { registryId, repositoryName: name, lifecyclePolicyText: text };
    },

    getLifecyclePolicy: async (input) => (await currentPolicy(input)).answer,

    deleteLifecyclePolicy: async (input) => {
      const { name, answer } = await currentPolicy(input);
      await deps.registry.updateRepository(name, { lifecyclePolicy: null });
      return answer;
    },

    startLifecyclePolicyPreview: async (input) => {
      const name = input.repositoryName ?? "";
      const repo = await findRepository(deps, name, input.registryId);
      const text = input.lifecyclePolicyText ?? repo.lifecyclePolicy;
      if (text === undefined) throw lifecyclePolicyNotFound(name, registryId);
      parse(text);
      await deps.registry.updateRepository(name, { lifecyclePreview: text });
      return { registryId, repositoryName: name, lifecyclePolicyText: text, status: "IN_PROGRESS" };
    },

    getLifecyclePolicyPreview: async (input) => {
      const name = input.repositoryName ?? "";
      const repo = await findRepository(deps, name, input.registryId);
      if (repo.lifecyclePreview === undefined) throw lifecyclePreviewNotFound(name, registryId);
      const expiring = await deps.registry.previewLifecycle(name, repo.lifecyclePreview);
      let results: ecr.LifecyclePolicyPreviewResult[] = expiring.map(({ image, rulePriority }) => ({
        ...(image.tags.length > 0 ? { imageTags: image.tags } : {}),
        imageDigest: image.digest,
        imagePushedAt: image.pushedAt,
        action: { type: "EXPIRE" },
        appliedRulePriority: rulePriority,
      }));
      const status = input.filter?.tagStatus;
      if (status === "TAGGED") results = results.filter((r) => (r.imageTags?.length ?? 0) > 0);
      if (status === "UNTAGGED") results = results.filter((r) => r.imageTags === undefined);
      if (input.imageIds !== undefined) {
        const ids = input.imageIds;
        results = results.filter((r) =>
          ids.some(
            (id) =>
              (id.imageDigest === undefined || id.imageDigest === r.imageDigest) &&
              (id.imageTag === undefined || (r.imageTags ?? []).includes(id.imageTag)),
          ),
        );
      }
      const { items, nextToken } = page(results, input, 100);
      return {
        registryId,
        repositoryName: name,
        lifecyclePolicyText: repo.lifecyclePreview,
        status: "COMPLETE",
        previewResults: items,
        summary: { expiringImageTotalCount: expiring.length },
        nextToken,
      };
    },
  } satisfies Handlers<ecr.ECR>;
}
