/** What every ECR handler works with: the registry, the store, and how the registry is reached. */
import type { CredentialLookup } from "../../aws/index.js";
import type { Registry, RepositoryRecord } from "../../registry/index.js";
import type { Store } from "../../store/index.js";
import { repositoryNotFound } from "./errors.js";

export interface EcrDependencies {
  registry: Registry;
  store: Store;
  credentials: CredentialLookup;
  /** `HOST:PORT` as clients reach the registry; repositoryUri is `HOST:PORT/NAME`. */
  registryHost: () => string;
  /** The endpoint URL, what GetAuthorizationToken gives as proxyEndpoint. */
  endpoint: () => string;
}

/** The repository, or RepositoryNotFoundException; a foreign registryId never matches. */
export async function findRepository(
  deps: EcrDependencies,
  name: string,
  registryId: string | undefined,
): Promise<RepositoryRecord> {
  const found =
    registryId === undefined || registryId === deps.registry.registryId
      ? await deps.registry.metadata.repository(name)
      : undefined;
  if (found === undefined) throw repositoryNotFound(name, registryId ?? deps.registry.registryId);
  return found;
}
