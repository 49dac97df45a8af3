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
export { parseLifecyclePolicy, evaluateLifecycle, LifecyclePolicyInvalid } from "./lifecycle.js";
export { RegistryError } from "./errors.js";
export { isDigest } from "./names.js";
export type {
  ImageRecord,
  RepositoryRecord,
  TagMutability,
  TagMutabilityExclusionFilter,
} from "./metadata.js";
export { isTagMutability } from "./tag-mutability.js";
