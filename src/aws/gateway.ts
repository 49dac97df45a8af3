/**
 * What the three front doors (JSON 1.1, Query, REST-JSON) share once each has read its own
 * envelope: their options, the answer they give before a body is read, the session caller of
 * `invoke`, and the last steps of every request — validate against the model -> authorize ->
 * handle. Only the envelopes (how the action is named, how input and output are encoded) differ.
 */
import type { Clock, Identity, Logger } from "../core/index.js";
import { AwsError } from "./errors.js";
import { authorizeRequest, type Authorizer } from "./authorization.js";
import { rootPrincipal, type Principal } from "./principal.js";
import type { AnyHandler, AwsService, RequestContext } from "./service.js";
import {
  preauthenticate,
  type CredentialLookup,
  type Precheck,
  type SignedRequest,
  type UnreadRequest,
} from "./sigv4.js";
import { validateInput } from "./validate.js";

export interface GatewayOptions<Service> {
  services: Service[];
  credentials: CredentialLookup;
  identity: Identity;
  clock: Clock;
  log: Logger;
  /** Decides whether a non-root caller may perform the action; absent: everything allowed. */
  authorizer?: Authorizer;
}

export interface GatewayResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** A front door: its options and services, and the signature check made before a body is read. */
export abstract class AwsGateway<Service> {
  constructor(protected readonly options: GatewayOptions<Service>) {}

  /** The services it answers (their tables, for tests that read them). */
  get services(): readonly Service[] {
    return this.options.services;
  }

  /** Serves one request whose body has already been read (within the size limit). */
  abstract handle(request: SignedRequest): Promise<GatewayResponse>;

  /** The signing name and region a request must be signed for, known before its body. */
  protected abstract expected(request: UnreadRequest): { service?: string; region?: string };

  /**
   * The signature check the router makes before it reads a body. A refusal is the answer
   * `handle` gives the same request with no body: it authenticates first too.
   */
  async precheck(request: UnreadRequest): Promise<Precheck> {
    try {
      const { service, region } = this.expected(request);
      const { credentials, clock } = this.options;
      return {
        verified: await preauthenticate(request, credentials, clock.now(), service, region),
      };
    } catch {
      return { refused: await this.handle({ ...request, body: Buffer.alloc(0) }) };
    }
  }
}

/** The principal a caller authenticated another way (the console's session) speaks for. */
export async function sessionPrincipal(
  options: GatewayOptions<unknown>,
  accessKeyId: string,
): Promise<Principal> {
  // The session speaks for the key's owner: its policies decide, as for a signed call.
  const credentials = await options.credentials(accessKeyId);
  if (credentials === undefined) throw new AwsError("UnrecognizedClientException");
  return credentials.principal ?? rootPrincipal(options.identity.accountId);
}

/** The caller of a request, as the handler's context names it. */
export interface Caller {
  requestId: string;
  accessKeyId: string;
  /** The key's owner; undefined for the account's root. */
  principal?: Principal;
}

/** Whether `service` answers `actionName` (its own rows only: `toString` is no action). */
export function servesAction(service: AwsService, actionName: string): boolean {
  return Object.hasOwn(service.actions, actionName) && service.actions[actionName] !== undefined;
}

/**
 * The last steps of every request, once its envelope named `actionName` of `service` (which has
 * it) and yielded `raw` input: validate against the model -> authorize -> handle.
 */
export async function performAction(
  options: GatewayOptions<unknown>,
  service: AwsService,
  actionName: string,
  raw: unknown,
  caller: Caller,
): Promise<unknown> {
  const input = validateInput(service.model, actionName, raw, service.validationErrorCode);
  const ctx: RequestContext = {
    requestId: caller.requestId,
    identity: options.identity,
    clock: options.clock,
    log: options.log,
    accessKeyId: caller.accessKeyId,
    principal: caller.principal ?? rootPrincipal(options.identity.accountId),
  };
  await authorizeRequest(options.authorizer, service, actionName, input, ctx);
  const handler = service.actions[actionName] as AnyHandler;
  return handler(input as never, ctx);
}

/** How a failed request is logged: its stack, or what was thrown. */
export function logFailure(log: Logger, requestId: string, error: unknown): void {
  log.error("request failed", {
    requestId,
    error: error instanceof Error ? (error.stack ?? error.message) : String(error),
  });
}
