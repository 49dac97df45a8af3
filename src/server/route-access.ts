/**
 * Who may use Berth's own signed routes (task logs and progress, exec, join tokens, billing,
 * Spot): the account's root always; any other principal when its policies allow the route's
 * IAM action (the ECS action it mirrors, or a `berth:` action of Berth's own) on its resource.
 */
import type { IncomingMessage } from "node:http";
import {
  AwsError,
  verifySigV4,
  type Authorizer,
  type CredentialLookup,
  type Principal,
  type RequestedResource,
} from "../aws/index.js";
import { parseArn, type Clock } from "../core/index.js";

/** What every signed route checks its caller with. */
export interface SignedRouteOptions {
  credentials: CredentialLookup;
  clock: Clock;
  /** Decides what principals other than root may do here. */
  authorizer?: Authorizer;
}

export interface RouteAccess {
  /** `ecs:DescribeTasks`, `berth:CreateJoinToken`, ... */
  action: string;
  /** What the request acts on, read from its URL; `*` when absent. */
  resource?: (url: URL) => RequestedResource;
}

/** A task route's resource: the task named by `?task=ARN`, in its cluster. */
export function taskResource(url: URL): RequestedResource {
  const task = url.searchParams.get("task") ?? "";
  const parsed = parseArn(task);
  const cluster = parsed?.resource.split("/")[1];
  return {
    arn: task === "" ? "*" : task,
    ...(parsed === undefined || cluster === undefined
      ? {}
      : {
          context: {
            "ecs:cluster": [`arn:aws:ecs:${parsed.region}:${parsed.accountId}:cluster/${cluster}`],
          },
        }),
  };
}

export async function checkRouteAccess(
  authorizer: Authorizer | undefined,
  principal: Principal | undefined,
  access: RouteAccess,
  requestUrl: string,
): Promise<void> {
  if (principal === undefined || principal.kind === "root") return;
  const resource = access.resource?.(new URL(requestUrl, "http://berth")) ?? { arn: "*" };
  // Without an authorizer nobody but root may use these routes.
  if (authorizer === undefined)
    throw new AwsError(
      "AccessDeniedException",
      `User: ${principal.arn} is not authorized to perform: ${access.action} on resource: ${resource.arn}`,
    );
  await authorizer.authorize(principal, access.action, [resource]);
}

/**
 * A signed route's caller: its SigV4 signature over `body` (scoped to `ecs`, as the ECS
 * actions the routes mirror), then its permission for `access`. Throws the AWS error; answers
 * the caller's access key.
 */
export async function verifyRouteCaller(
  req: IncomingMessage,
  body: Buffer,
  options: SignedRouteOptions,
  access: RouteAccess,
): Promise<string> {
  const url = req.url ?? "/";
  const caller = await verifySigV4(
    { method: req.method ?? "GET", url, headers: req.headers, body },
    options.credentials,
    options.clock.now(),
    "ecs",
  );
  await checkRouteAccess(options.authorizer, caller.principal, access, url);
  return caller.accessKeyId;
}
