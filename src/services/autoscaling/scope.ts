/**
 * What every Application Auto Scaling action checks first: the namespace, dimension and
 * resource ID name an ECS service that exists; and how its Describe calls page.
 */
import { pageFrom, tokenOffset } from "../../aws/index.js";
import {
  ECS_DESIRED_COUNT,
  ECS_NAMESPACE,
  parseServiceResourceId,
  type ScalableResource,
} from "../../control/index.js";
import type { Store } from "../../store/index.js";
import { validation } from "./errors.js";

export interface ResourceInput {
  ServiceNamespace?: string;
  ResourceId?: string;
  ScalableDimension?: string;
}

/** The namespace and, when given, dimension of a Describe call. */
export function checkNamespace(namespace: string | undefined, dimension?: string): void {
  // Application Auto Scaling scales many AWS services; Berth has only ECS services to scale.
  if (namespace !== ECS_NAMESPACE)
    throw validation(`Berth scales the ecs service namespace only, not ${namespace ?? ""}.`);
  if (dimension !== undefined && dimension !== ECS_DESIRED_COUNT)
    throw validation(
      `Unsupported scalable dimension ${dimension} for service namespace ecs; use ${ECS_DESIRED_COUNT}.`,
    );
}

/** The scalable resource an action names; the ECS service must exist when `mustExist`. */
export async function resourceOf(
  store: Store,
  input: ResourceInput,
  mustExist: boolean,
): Promise<ScalableResource> {
  checkNamespace(input.ServiceNamespace, input.ScalableDimension ?? "");
  const resourceId = input.ResourceId ?? "";
  const parsed = parseServiceResourceId(resourceId);
  if (parsed === undefined)
    throw validation(
      `Unsupported resource ID ${resourceId}; an ECS service is service/CLUSTER/SERVICE.`,
    );
  if (mustExist) {
    const service = await store
      .selectFrom("services")
      .select("status")
      .where("cluster_name", "=", parsed.cluster)
      .where("name", "=", parsed.service)
      .executeTakeFirst();
    if (service === undefined || service.status === "INACTIVE")
      throw validation(`ECS service doesn't exist: ${resourceId}`);
  }
  return { namespace: ECS_NAMESPACE, resourceId, dimension: ECS_DESIRED_COUNT };
}

/** Describe calls answer at most 50 per page (the default), as the API reference says. */
const MAX_RESULTS = 50;

export function pageOf<T>(
  items: T[],
  { NextToken: nextToken, MaxResults: maxResults }: { NextToken?: string; MaxResults?: number },
): { items: T[]; NextToken?: string } {
  if (maxResults !== undefined && (maxResults < 1 || maxResults > MAX_RESULTS))
    throw validation(
      `1 validation error detected: Value '${maxResults}' at 'maxResults' failed to satisfy constraint: Member must have value ${maxResults < 1 ? "greater than or equal to 1" : `less than or equal to ${MAX_RESULTS}`}`,
    );
  const start = tokenOffset(nextToken, "InvalidNextTokenException");
  return pageFrom(items, start, maxResults ?? MAX_RESULTS, "NextToken");
}
