/**
 * What an AWS-compatible service is here: its model, its target prefix, its validation error
 * code, and a table of `Action -> handler`, made of handler groups (`actionTable`).
 */
import type { AwsErrorCode } from "./error-codes.js";
import { newRequestId, type Clock, type Identity, type Logger } from "../core/index.js";
import type { ServiceModel } from "./model.js";
import type { ResourceResolver } from "./authorization.js";
import { rootPrincipal, type Principal } from "./principal.js";

/** The answer of an action whose output has no members (`{}` on the wire). */
export type Empty = Record<string, never>;

/** Everything a handler may know about the request it serves. */
export interface RequestContext {
  requestId: string;
  identity: Identity;
  clock: Clock;
  log: Logger;
  /** The verified caller's access key. */
  accessKeyId: string;
  /** Who the key belongs to: the account's root, an IAM user or a role session. */
  principal: Principal;
}

/**
 * The context of a call Berth makes itself, not through a front door (a scaling change, a
 * pod's task, a schedule's run): as `accessKeyId`, for `principal` (the account's root).
 */
export function internalContext(
  env: { identity: Identity; clock: Clock; log: Logger },
  accessKeyId: string,
  principal: Principal = rootPrincipal(env.identity.accountId),
): RequestContext {
  const { identity, clock, log } = env;
  return { requestId: newRequestId(), identity, clock, log, accessKeyId, principal };
}

/**
 * A handler holds only the semantics: its input already passed the model's checks.
 * `Input` and `Output` are the AWS SDK's own request and response types.
 */
export type Handler<Input, Output> = (input: Input, ctx: RequestContext) => Promise<Output>;

/** The request and response of an SDK client's method (`ecs.ECS["runTask"]`). */
export type OperationOf<Method> = Method extends (
  input: infer Input,
  options: never,
  callback: (err: never, data?: infer Output) => void,
) => void
  ? { input: Input; output: Omit<Output, "$metadata"> }
  : never;
type HandlerOf<M> =
  OperationOf<M> extends { input: infer I; output: infer O } ? Handler<I, O> : never;

/**
 * Handlers by the SDK client's method names (`{ runTask } satisfies Handlers<ecs.ECS>`), each
 * typed by its operation, so a handler under another action's name fails to compile.
 */
export type Handlers<Client> = { [Op in keyof Client & string]?: HandlerOf<Client[Op]> };

/**
 * A service's table from its handler groups: each handler serves the action its name
 * capitalizes (`runTask` -> `RunTask`), a later group's replacing an earlier one's.
 */
export function actionTable<Client>(...groups: Handlers<Client>[]): Record<string, AnyHandler> {
  const table: Record<string, AnyHandler> = {};
  for (const group of groups)
    for (const [name, handler] of Object.entries(group as Record<string, AnyHandler>))
      table[name.charAt(0).toUpperCase() + name.slice(1)] = handler;
  return table;
}

/** Any row of a table, its types erased once the table has been checked. */
export type AnyHandler = (input: never, ctx: RequestContext) => Promise<unknown>;

/** What every front door needs of a service to run its actions, whatever its protocol. */
export interface AwsService {
  /** The SigV4 signing name clients scope their credentials to, e.g. `ecs`. */
  signingName: string;
  model: ServiceModel;
  /** The error code this service answers constraint violations with. */
  validationErrorCode: AwsErrorCode;
  actions: Record<string, AnyHandler>;
  /**
   * The resources each action acts on, for authorization (the IAM action is
   * `signingName:Action`); an action without a row acts on `*`.
   */
  resources?: Record<string, ResourceResolver>;
}

export interface AwsJsonService extends AwsService {
  /** `X-Amz-Target` prefix, e.g. `AmazonEC2ContainerServiceV20141113`. */
  targetPrefix: string;
}
