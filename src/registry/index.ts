/**
 * The OCI registry: content-addressed blob store, uploads, manifests, tags, referrers, catalog,
 * lifecycle policies and garbage collection, served under `/v2/` with ECR-style passwords.
 */
export { Registry } from "./registry.js";
export { createRegistryHandler } from "./http-api.js";
export {
  mintRegistryPassword,
  encodeAuthorizationToken,
  REGISTRY_USER,
  TOKEN_LIFETIME_MS,
} from "./auth.js";
export {
  parseLifecyclePolicy,
  evaluateLifecycle,
  LifecyclePolicyInvalid,
  type Expiry,
} from "./lifecycle.js";
export { RegistryError } from "./errors.js";
export { isDigest, isTag } from "./names.js";
export { OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST } from "./manifests.js";
export type {
  ImageRecord,
  RepositoryRecord,
  RepositorySettings,
  TagMutability,
  TagMutabilityExclusionFilter,
} from "./metadata.js";
export { isTagMutability, tagIsImmutable } from "./tag-mutability.js";
export type { GcResult, MaintenanceFence } from "./gc.js";
