/**
 * The one request pipeline of every AWS JSON 1.1 service:
 * parse target -> authenticate -> parse JSON -> validate -> handle -> render.
 * Any failure at any step renders through `renderError`; nothing escapes as a crash.
 */
import { BerthError, newRequestId, type Clock, type Identity, type Logger } from "../core/index.js";
import { AwsError, renderError } from "./errors.js";
import type { AwsJsonService, RequestContext } from "./service.js";
import {
  preauthenticate,
  verifySigV4,
  type CredentialLookup,
  type Precheck,
  type SignedRequest,
  type UnreadRequest,
} from "./sigv4.js";
import { parseJsonBody, validateInput } from "./validate.js";
import { authorizeRequest, type Authorizer } from "./authorization.js";
import { rootPrincipal, type Principal } from "./principal.js";

export const JSON_CONTENT_TYPE = "application/x-amz-json-1.1";

export interface JsonResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface AwsJsonGatewayOptions {
  services: AwsJsonService[];
  credentials: CredentialLookup;
  identity: Identity;
  clock: Clock;
  log: Logger;
  /** Decides whether a non-root caller may perform the action; absent: everything allowed. */
  authorizer?: Authorizer;
}

/** JSON 1.1 writes timestamps as epoch seconds. */
function replacer(this: Record<string, unknown>, key: string, value: unknown): unknown {
  const raw = this[key];
  if (raw instanceof Date) return raw.getTime() / 1000;
  return value;
}

export function renderJson(value: unknown): string {
  return JSON.stringify(value ?? {}, replacer);
}

export class AwsJsonGateway {
  readonly #byPrefix = new Map<string, AwsJsonService>();

  constructor(private readonly options: AwsJsonGatewayOptions) {
    for (const service of options.services) this.#byPrefix.set(service.targetPrefix, service);
  }
  get services(): readonly AwsJsonService[] {
    return this.options.services;
  }

  /**
   * The signature check the router makes before it reads a body. A refusal is the answer
   * `handle` gives the same request with no body: the header checks come first there too.
   */
  async precheck(request: UnreadRequest): Promise<Precheck> {
    try {
      const verified = await preauthenticate(
        request,
        this.options.credentials,
        this.options.clock.now(),
        this.#serviceOf(request)?.signingName,
        this.options.identity.region,
      );
      return { verified };
    } catch {
      return { refused: await this.handle({ ...request, body: Buffer.alloc(0) }) };
    }
  }

  #serviceOf(request: UnreadRequest): AwsJsonService | undefined {
    const target = request.headers["x-amz-target"];
    const prefix = typeof target === "string" ? target.split(".", 1)[0] : undefined;
    return prefix === undefined ? undefined : this.#byPrefix.get(prefix);
  }

  /** Serves one JSON 1.1 request whose body has already been read (within the size limit). */
  async handle(request: SignedRequest): Promise<JsonResponse> {
    return this.#answer((requestId) => this.#dispatch(request, requestId));
  }

  /**
   * Serves one action for a caller authenticated another way (the console's session, which
   * proved the same secret): the same target lookup, validation, handler and rendering as a
   * signed request, so whatever authorizes a signed call authorizes this one.
   */
  async invoke(accessKeyId: string, target: string, body: Buffer): Promise<JsonResponse> {
    return this.#answer(async (requestId) => {
      // The session speaks for the key's owner: its policies decide, as for a signed call.
      const credentials = await this.options.credentials(accessKeyId);
      if (credentials === undefined)
        throw new AwsError(
          "UnrecognizedClientException",
          "The security token included in the request is invalid.",
        );
      const principal = credentials.principal ?? rootPrincipal(this.options.identity.accountId);
      return this.#perform(target, body, accessKeyId, principal, requestId);
    });
  }

  async #answer(run: (requestId: string) => Promise<string>): Promise<JsonResponse> {
    const requestId = newRequestId();
    const headers = { "x-amzn-RequestId": requestId, "Content-Type": JSON_CONTENT_TYPE };
    try {
      const body = await run(requestId);
      return { status: 200, headers, body };
    } catch (error) {
      const rendered = renderError(error, { requestId });
      if (rendered.status >= 500) {
        this.options.log.error("request failed", { requestId, error: describe(error) });
      }
      return rendered;
    }
  }

  async #dispatch(request: SignedRequest, requestId: string): Promise<string> {
    const target = request.headers["x-amz-target"];
    const service = this.#serviceOf(request);
    // Authenticate before saying anything about the target: an anonymous caller learns nothing.
    const caller = await verifySigV4(
      request,
      this.options.credentials,
      this.options.clock.now(),
      service?.signingName,
      this.options.identity.region,
    );
    return this.#perform(
      typeof target === "string" ? target : "",
      request.body,
      caller.accessKeyId,
      caller.principal ?? rootPrincipal(this.options.identity.accountId),
      requestId,
    );
  }

  async #perform(
    target: string,
    body: Buffer,
    accessKeyId: string,
    principal: Principal,
    requestId: string,
  ): Promise<string> {
    const [prefix, actionName] = target.split(".", 2);
    const service = prefix === undefined ? undefined : this.#byPrefix.get(prefix);
    const handler =
      service !== undefined &&
      actionName !== undefined &&
      Object.hasOwn(service.actions, actionName)
        ? service.actions[actionName]
        : undefined;
    if (service === undefined || actionName === undefined || handler === undefined) {
      throw new AwsError("UnknownOperationException", "");
    }
    const parsed = parseJsonBody(body);
    const input = validateInput(service.model, actionName, parsed, service.validationErrorCode);
    const ctx: RequestContext = {
      requestId,
      identity: this.options.identity,
      clock: this.options.clock,
      log: this.options.log,
      accessKeyId,
      principal,
    };
    await authorizeRequest(this.options.authorizer, service, actionName, input, ctx);
    const output = await handler(input as never, ctx);
    return renderJson(output);
  }
}

function describe(error: unknown): string {
  if (error instanceof BerthError) return `${error.code}: ${error.message}`;
  if (error instanceof Error) return error.stack ?? error.message;
  return String(error);
}
