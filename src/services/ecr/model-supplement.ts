/**
 * Parts of ECR's API that are newer than the model in Debian's awscli package (its models date
 * from January 2023), written in the model's own form from the ECR API reference so the front
 * door validates them like every other action. Drop an entry once the installed model has it.
 */
import type { ServiceModel } from "../../aws/index.js";

export const ecrModelSupplement: Partial<ServiceModel> = {
  shapes: {
    // Tag mutability with exclusions (2025): the enum grows two values and three structures
    // take a list of wildcard filters.
    ImageTagMutability: {
      type: "string",
      enum: ["MUTABLE", "IMMUTABLE", "IMMUTABLE_WITH_EXCLUSION", "MUTABLE_WITH_EXCLUSION"],
    },
    ImageTagMutabilityExclusionFilterType: { type: "string", enum: ["WILDCARD"] },
    ImageTagMutabilityExclusionFilterValue: {
      type: "string",
      min: 1,
      max: 128,
      pattern: "^[0-9a-zA-Z._*-]{1,128}$",
    },
    ImageTagMutabilityExclusionFilter: {
      type: "structure",
      required: ["filterType", "filter"],
      members: {
        filterType: { shape: "ImageTagMutabilityExclusionFilterType" },
        filter: { shape: "ImageTagMutabilityExclusionFilterValue" },
      },
    },
    ImageTagMutabilityExclusionFilters: {
      type: "list",
      member: { shape: "ImageTagMutabilityExclusionFilter" },
      min: 1,
      max: 5,
    },
    // Members added to existing structures (merged into the model's own).
    CreateRepositoryRequest: {
      type: "structure",
      members: {
        imageTagMutabilityExclusionFilters: { shape: "ImageTagMutabilityExclusionFilters" },
      },
    },
    PutImageTagMutabilityRequest: {
      type: "structure",
      members: {
        imageTagMutabilityExclusionFilters: { shape: "ImageTagMutabilityExclusionFilters" },
      },
    },
    PutImageTagMutabilityResponse: {
      type: "structure",
      members: {
        imageTagMutabilityExclusionFilters: { shape: "ImageTagMutabilityExclusionFilters" },
      },
    },
    Repository: {
      type: "structure",
      members: {
        imageTagMutabilityExclusionFilters: { shape: "ImageTagMutabilityExclusionFilters" },
      },
    },
  },
};
