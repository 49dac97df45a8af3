/** ECR repositories: create, describe, delete, tag mutability, tags, and the registry itself. */
import { createHash } from "node:crypto";
import type * as ecr from "@aws-sdk/client-ecr";
import { page, type Handlers } from "../../aws/index.js";
import {
  isTagMutability,
  type RepositoryRecord,
  type TagMutability,
  type TagMutabilityExclusionFilter,
} from "../../registry/index.js";
import {
  dropTags,
  fromKeyValue,
  putTags,
  readTags,
  removeTags,
  toKeyValue,
} from "../../store/index.js";
import { findRepository, type EcrDependencies } from "./context.js";
import {
  invalidParameter,
  repositoryAlreadyExists,
  repositoryNotEmpty,
  repositoryNotFound,
} from "./errors.js";

export function toRepository(deps: EcrDependencies, record: RepositoryRecord): ecr.Repository {
  return {
    repositoryArn: record.arn,
    registryId: deps.registry.registryId,
    repositoryName: record.name,
    repositoryUri: `${deps.registryHost()}/${record.name}`,
    createdAt: record.createdAt,
    imageTagMutability: record.tagMutability,
    ...(record.settings.imageTagMutabilityExclusionFilters === undefined
      ? {}
      : { imageTagMutabilityExclusionFilters: record.settings.imageTagMutabilityExclusionFilters }),
    imageScanningConfiguration: {
      scanOnPush: record.settings.imageScanningConfiguration?.scanOnPush ?? false,
    },
    encryptionConfiguration: record.settings.encryptionConfiguration ?? {
      encryptionType: "AES256",
    },
  } as ecr.Repository;
}

/**
 * The mutability and its filters, as a pair: the *_WITH_EXCLUSION settings need filters and
 * the plain ones take none. (ECR refuses both mismatches with InvalidParameterException; its
 * texts are not recorded.)
 */
function tagMutability(
  mutability: string | undefined,
  filters: ecr.ImageTagMutabilityExclusionFilter[] | undefined,
): { mutability: TagMutability; filters?: TagMutabilityExclusionFilter[] } {
  const value = mutability ?? "MUTABLE";
  if (!isTagMutability(value))
    throw invalidParameter(
      `Invalid parameter at 'imageTagMutability' failed to satisfy constraint: 'Member must satisfy enum value set: [MUTABLE, IMMUTABLE, IMMUTABLE_WITH_EXCLUSION, MUTABLE_WITH_EXCLUSION]'`,
    );
  const withExclusion = value.endsWith("_WITH_EXCLUSION");
  if (withExclusion && (filters === undefined || filters.length === 0))
    throw invalidParameter(
      `Invalid parameter at 'imageTagMutabilityExclusionFilters' failed to satisfy constraint: 'exclusion filters are required when imageTagMutability is ${value}'`,
    );
  if (!withExclusion && filters !== undefined)
    throw invalidParameter(
      `Invalid parameter at 'imageTagMutabilityExclusionFilters' failed to satisfy constraint: 'exclusion filters are only allowed when imageTagMutability is IMMUTABLE_WITH_EXCLUSION or MUTABLE_WITH_EXCLUSION'`,
    );
  return withExclusion
    ? {
        mutability: value,
        filters: (filters ?? []).map((f) => ({ filterType: "WILDCARD", filter: f.filter ?? "" })),
      }
    : { mutability: value };
}

function checkTags(tags: ecr.Tag[] | undefined): void {
  for (const tag of tags ?? []) {
    if (tag.Key === undefined || tag.Key === "" || tag.Key.length > 128)
      throw invalidParameter(
        "Invalid parameter at 'tags' failed to satisfy constraint: 'Tag keys must be 1 to 128 characters'",
      );
    if (tag.Value === undefined || tag.Value.length > 256)
      throw invalidParameter(
        "Invalid parameter at 'tags' failed to satisfy constraint: 'Tag values must be 0 to 256 characters'",
      );
  }
}

/** `arn:aws:ecr:REGION:ACCOUNT:repository/NAME` -> the repository. */
async function repositoryByArn(deps: EcrDependencies, arn: string): Promise<RepositoryRecord> {
  const match = /^arn:aws:ecr:[^:]*:(\d{12}):repository\/(.+)$/.exec(arn);
  if (match === null)
    throw invalidParameter(
      "Invalid parameter at 'resourceArn' failed to satisfy constraint: 'Invalid ARN'",
    );
  const record = await deps.registry.metadata.repository(match[2] ?? "");
  if (record === undefined || record.arn !== arn)
    throw repositoryNotFound(match[2] ?? "", match[1] ?? "");
  return record;
}

export function repositoryHandlers(deps: EcrDependencies) {
  const registryId = deps.registry.registryId;
  return {
    createRepository: async (input, ctx) => {
      const name = input.repositoryName ?? "";
      checkTags(input.tags);
      if (input.registryId !== undefined && input.registryId !== registryId)
        // ECR refuses to create in another account's registry (AccessDenied); Berth has one registry.
        throw invalidParameter(
          `Invalid parameter at 'registryId' failed to satisfy constraint: 'must be ${registryId}'`,
        );
      const mutability = tagMutability(
        input.imageTagMutability,
        input.imageTagMutabilityExclusionFilters,
      );
      const encryption = input.encryptionConfiguration ?? { encryptionType: "AES256" };
      // ECR encrypts with KMS when asked; Berth keeps the setting and stores blobs as they are.
      const created = await deps.registry.createRepository(name, mutability.mutability, {
        ...(mutability.filters === undefined
          ? {}
          : { imageTagMutabilityExclusionFilters: mutability.filters }),
        imageScanningConfiguration: {
          scanOnPush: input.imageScanningConfiguration?.scanOnPush ?? false,
        },
        encryptionConfiguration: {
          encryptionType: encryption.encryptionType ?? "AES256",
          // KMS without a key: ECR uses (and shows) the account's AWS managed key aws/ecr.
          ...(encryption.kmsKey !== undefined
            ? { kmsKey: encryption.kmsKey }
            : encryption.encryptionType === "KMS"
              ? { kmsKey: managedKeyArn(ctx.identity.region, ctx.identity.accountId) }
              : {}),
        },
      });
      if (created === undefined) throw repositoryAlreadyExists(name, registryId);
      await putTags(deps.store, created.arn, fromKeyValue(input.tags ?? []));
      return { repository: toRepository(deps, created) };
    },

    describeRepositories: async (input) => {
      if (input.repositoryNames !== undefined) {
        if (input.nextToken !== undefined || input.maxResults !== undefined)
          throw invalidParameter(
            "Invalid parameter: maxResults and nextToken cannot be used with repositoryNames",
          );
        const found: ecr.Repository[] = [];
        for (const name of input.repositoryNames)
          found.push(toRepository(deps, await findRepository(deps, name, input.registryId)));
        return { repositories: found };
      }
      if (input.registryId !== undefined && input.registryId !== registryId)
        return { repositories: [] };
      const all = await deps.registry.metadata.repositories();
      const { items, nextToken } = page(all, input, 1000);
      return { repositories: items.map((r) => toRepository(deps, r)), nextToken };
    },

    deleteRepository: async (input) => {
      const name = input.repositoryName ?? "";
      const record = await findRepository(deps, name, input.registryId);
      const images = await deps.registry.images(name);
      if (images.length > 0 && input.force !== true) throw repositoryNotEmpty(name, registryId);
      await deps.registry.deleteRepository(name);
      await dropTags(deps.store, [record.arn]);
      return { repository: toRepository(deps, record) };
    },

    putImageTagMutability: async (input) => {
      const name = input.repositoryName ?? "";
      const repo = await findRepository(deps, name, input.registryId);
      const { mutability, filters } = tagMutability(
        input.imageTagMutability,
        input.imageTagMutabilityExclusionFilters,
      );
      await deps.registry.updateRepository(name, {
        tagMutability: mutability,
        settings: { ...repo.settings, imageTagMutabilityExclusionFilters: filters },
      });
      return {
        registryId,
        repositoryName: name,
        imageTagMutability: mutability,
        ...(filters === undefined ? {} : { imageTagMutabilityExclusionFilters: filters }),
      };
    },

    describeRegistry: async () => ({
      registryId,
      replicationConfiguration: { rules: [] },
    }),

    tagResource: async (input) => {
      const record = await repositoryByArn(deps, input.resourceArn ?? "");
      checkTags(input.tags);
      await putTags(deps.store, record.arn, fromKeyValue(input.tags ?? []));
      return {};
    },

    untagResource: async (input) => {
      const record = await repositoryByArn(deps, input.resourceArn ?? "");
      await removeTags(deps.store, record.arn, input.tagKeys ?? []);
      return {};
    },

    listTagsForResource: async (input) => {
      const record = await repositoryByArn(deps, input.resourceArn ?? "");
      return { tags: toKeyValue(await readTags(deps.store, record.arn)) };
    },
  } satisfies Handlers<ecr.ECR>;
}

/**
 * The key ARN of the account's AWS managed key `aws/ecr` in `region`. Berth has no KMS, so its
 * id is a UUID derived from the region and account: the same key for every repository there,
 * as on AWS, shaped as KMS shows key ids.
 */
export function managedKeyArn(region: string, accountId: string): string {
  const hex = createHash("sha256").update(`aws/ecr:${region}:${accountId}`).digest("hex");
  const variant = ((parseInt(hex.slice(16, 17), 16) & 0x3) | 0x8).toString(16);
  const id = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
  return `arn:aws:kms:${region}:${accountId}:key/${id}`;
}
