/**
 * The front door's authorization step: after the signature (who) and the model's checks (what),
 * the caller's policies decide whether it may perform `service:Action` on each resource the
 * request touches. Services name those resources with a resolver per action; the decision
 * itself belongs to IAM (`services/iam`), plugged in as an `Authorizer` when Berth is composed.
 */
import type { Principal } from "./principal.js";
import type { OperationOf, RequestContext } from "./service.js";

/** One resource a request acts on, with the condition keys it brings (`ecs:cluster`, ...). */
export interface RequestedResource {
  /** The resource's ARN, or `*` for an action that names none (ListClusters). */
  arn: string;
  /** Condition keys of the request on this resource, lower-cased names; values are strings. */
  context?: Record<string, string[]>;
}

/** The resources of one action's request; read before the handler runs. */
export type ResourceResolver = (
  input: never,
  ctx: RequestContext,
) => RequestedResource[] | Promise<RequestedResource[]>;

/** Resolvers by action name, each typed by its operation's request (`ResourceTable<ecs.ECS>`). */
export type ResourceTable<Client> = {
  [Op in keyof Client & string as Capitalize<Op>]?: (
    input: OperationOf<Client[Op]>["input"],
    ctx: RequestContext,
  ) => RequestedResource[] | Promise<RequestedResource[]>;
};

export interface Authorizer {
  /**
   * Throws AccessDeniedException (AWS's message) unless `principal` may perform `action` on
   * every resource. The account's root is always allowed.
   */
  authorize(
    principal: Principal,
    action: string,
    resources: readonly RequestedResource[],
  ): Promise<void>;
}

/** What an action names when its service says nothing: every resource (`*`). */
export const ANY_RESOURCE: readonly RequestedResource[] = [{ arn: "*" }];

/** The resolver's answer for one action (every resource when the service lists none). */
export async function requestedResources(
  resolvers: Readonly<Record<string, ResourceResolver>> | undefined,
  action: string,
  input: unknown,
  ctx: RequestContext,
): Promise<readonly RequestedResource[]> {
  const resolver =
    resolvers !== undefined && Object.hasOwn(resolvers, action) ? resolvers[action] : undefined;
  if (resolver === undefined) return ANY_RESOURCE;
  const resources = await resolver(input as never, ctx);
  return resources.length === 0 ? ANY_RESOURCE : resources;
}

/** `resolver(...)` keeps the input's type where a resolver row is written. */
export function resources<Input>(
  resolver: (
    input: Input,
    ctx: RequestContext,
  ) => RequestedResource[] | Promise<RequestedResource[]>,
): ResourceResolver {
  return resolver;
}

/** The one authorization step every gateway runs between validation and the handler. */
export async function authorizeRequest(
  authorizer: Authorizer | undefined,
  service: { signingName: string; resources?: Record<string, ResourceResolver> },
  action: string,
  input: unknown,
  ctx: RequestContext,
): Promise<void> {
  if (authorizer === undefined || ctx.principal.kind === "root") return;
  const resources = await requestedResources(service.resources, action, input, ctx);
  await authorizer.authorize(ctx.principal, `${service.signingName}:${action}`, resources);
}

/**
 * A resolver for every action of a service whose resources are named by one input member (ECR's
 * `repositoryName`, Logs' `logGroupName`): the member's ARN when present, `*` otherwise.
 */
export function resourcesByMember(
  actions: readonly string[],
  members: readonly string[],
  toArn: (value: string, ctx: RequestContext) => string,
): Record<string, ResourceResolver> {
  const resolver = resources<Record<string, unknown>>((input, ctx) => {
    for (const member of members) {
      const value = input[member];
      if (typeof value === "string" && value !== "") return [{ arn: toArn(value, ctx) }];
    }
    return [...ANY_RESOURCE];
  });
  return Object.fromEntries(actions.map((action) => [action, resolver]));
}

/** A resolver for actions that name their resources by ARN members (`LoadBalancerArn`, `ResourceArns`). */
export function resourcesByArnMembers(
  actions: readonly string[],
): Record<string, ResourceResolver> {
  const resolver = resources<Record<string, unknown>>((input) => {
    const arns = Object.entries(input)
      .filter(([name]) => /Arns?$/.test(name))
      .flatMap(([, value]): unknown[] => (Array.isArray(value) ? (value as unknown[]) : [value]))
      .filter((value): value is string => typeof value === "string" && value.startsWith("arn:"));
    return arns.length === 0 ? [...ANY_RESOURCE] : arns.map((arn) => ({ arn }));
  });
  return Object.fromEntries(actions.map((action) => [action, resolver]));
}
