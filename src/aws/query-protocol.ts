/**
 * The one request pipeline of every AWS Query service (form-encoded POST, XML answers):
 * authenticate -> pick the service by the credential scope's signing name -> parse the form
 * against the model -> validate -> handle -> render XML. Failures render as the Query
 * protocol's `<ErrorResponse>`; nothing escapes as a crash.
 */
import type { AwsErrorCode } from "./error-codes.js";
import { BerthError, newRequestId, type Clock, type Identity, type Logger } from "../core/index.js";
import { AWS_ERROR_CODES, type AwsErrorSpec } from "./error-codes.js";
import { AwsError, renderError } from "./errors.js";
import { JSON_CONTENT_TYPE, renderJson } from "./json-protocol.js";
import { decodeQueryInput, encodeQueryError, encodeQueryOutput } from "./query-codec.js";
import type { AnyHandler, RequestContext } from "./service.js";
import type { ResourceResolver } from "./authorization.js";
import type { Principal } from "./principal.js";
import type { ServiceModel } from "./model.js";
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
import { rootPrincipal } from "./principal.js";

export const FORM_CONTENT_TYPE = "application/x-www-form-urlencoded";

export interface AwsQueryService {
  /** The SigV4 signing name that selects this service, e.g. `elasticloadbalancing`. */
  signingName: string;
  model: ServiceModel;
  /** The code this service answers constraint violations with (`ValidationError`). */
  validationErrorCode: AwsErrorCode;
  actions: Record<string, AnyHandler>;
  /** The resources each action acts on, for authorization (see AwsJsonService). */
  resources?: Record<string, ResourceResolver>;
  /** IAM and STS are global: their clients sign for us-east-1 whatever Berth's region is. */
  global?: boolean;
}

export interface QueryResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface AwsQueryGatewayOptions {
  services: AwsQueryService[];
  credentials: CredentialLookup;
  identity: Identity;
  clock: Clock;
  log: Logger;
  /** Decides whether a non-root caller may perform the action; absent: everything allowed. */
  authorizer?: Authorizer;
}

/** Query services answer the front door's authentication failures with their own names and 403. */
const QUERY_AUTH_ERRORS = new Map(
  Object.entries(AWS_ERROR_CODES).flatMap(([code, spec]: [string, AwsErrorSpec]) =>
    spec.query === undefined ? [] : [[code, spec.query] as const],
  ),
);

/** A value of the wrong type is a ValidationError on the Query protocol (JSON says Serialization). */
function wireCode(code: string, validationCode: string): string {
  if (code === "SerializationException") return validationCode;
  return QUERY_AUTH_ERRORS.get(code)?.code ?? code;
}

export class AwsQueryGateway {
  readonly #bySigningName = new Map<string, AwsQueryService>();

  constructor(private readonly options: AwsQueryGatewayOptions) {
    for (const service of options.services) this.#bySigningName.set(service.signingName, service);
  }
  get services(): readonly AwsQueryService[] {
    return this.options.services;
  }

  /**
   * The signature check the router makes before it reads a body. A refusal is the answer
   * `handle` gives the same request with no body: it authenticates first too.
   */
  async precheck(request: UnreadRequest): Promise<Precheck> {
    try {
      const verified = await preauthenticate(
        request,
        this.options.credentials,
        this.options.clock.now(),
        undefined,
        this.options.identity.region,
      );
      return { verified };
    } catch {
      return { refused: await this.handle({ ...request, body: Buffer.alloc(0) }) };
    }
  }

  /** Serves one Query request whose body has already been read (within the size limit). */
  async handle(request: SignedRequest): Promise<QueryResponse> {
    const requestId = newRequestId();
    const headers = { "x-amzn-RequestId": requestId, "Content-Type": "text/xml" };
    // Until the signing name says which service this is, errors carry the first one's namespace.
    let namespace = this.options.services[0]?.model.metadata.xmlNamespace ?? "";
    let validationCode = "ValidationError";
    try {
      const caller = await this.#authenticate(request);
      const service = this.#bySigningName.get(caller.service);
      namespace = service?.model.metadata.xmlNamespace ?? "";
      validationCode = service?.validationErrorCode ?? validationCode;
      const body = await this.#dispatch(
        service,
        request,
        requestId,
        caller.accessKeyId,
        caller.principal ?? rootPrincipal(this.options.identity.accountId),
      );
      return { status: 200, headers, body };
    } catch (error) {
      const client = error instanceof BerthError && error.fault === "client";
      if (!client)
        this.options.log.error("request failed", {
          requestId,
          error: error instanceof Error ? (error.stack ?? error.message) : String(error),
        });
      const code = client ? wireCode(error.code, validationCode) : "InternalFailure";
      const status = client ? (QUERY_AUTH_ERRORS.get(error.code)?.status ?? error.status) : 500;
      const message = client ? error.message : "An internal error occurred.";
      return {
        status,
        headers,
        body: encodeQueryError(namespace, client ? "Sender" : "Receiver", code, message, requestId),
      };
    }
  }

  /**
   * Serves one action for a caller authenticated another way (the console's session), with the
   * input as JSON: the same model validation, authorization and handler as a signed request.
   */
  // Deviation: the answer is JSON, not the Query protocol's XML (only the console reads it).
  async invoke(
    accessKeyId: string,
    signingName: string,
    actionName: string,
    body: Buffer,
  ): Promise<QueryResponse> {
    const requestId = newRequestId();
    try {
      const credentials = await this.options.credentials(accessKeyId);
      if (credentials === undefined)
        throw new AwsError(
          "UnrecognizedClientException",
          "The security token included in the request is invalid.",
        );
      const service = this.#bySigningName.get(signingName);
      const handler =
        service !== undefined && Object.hasOwn(service.actions, actionName)
          ? service.actions[actionName]
          : undefined;
      if (service === undefined || handler === undefined)
        throw new AwsError("InvalidAction", `Could not find operation ${actionName}`);
      const parsed = parseJsonBody(body);
      const input = validateInput(service.model, actionName, parsed, service.validationErrorCode);
      const ctx: RequestContext = {
        requestId,
        identity: this.options.identity,
        clock: this.options.clock,
        log: this.options.log,
        accessKeyId,
        principal: credentials.principal ?? rootPrincipal(this.options.identity.accountId),
      };
      await authorizeRequest(this.options.authorizer, service, actionName, input, ctx);
      const output = await handler(input as never, ctx);
      return {
        status: 200,
        headers: { "x-amzn-RequestId": requestId, "Content-Type": JSON_CONTENT_TYPE },
        body: renderJson(output),
      };
    } catch (error) {
      const rendered = renderError(error, { requestId });
      if (rendered.status >= 500)
        this.options.log.error("request failed", {
          requestId,
          error: error instanceof Error ? (error.stack ?? error.message) : String(error),
        });
      return rendered;
    }
  }

  #authenticate(request: SignedRequest) {
    const authorization = request.headers.authorization;
    const scoped =
      typeof authorization === "string"
        ? /Credential=[^/]+\/\d{8}\/([^/]+)\/([^/]+)\//.exec(authorization)
        : null;
    // A global service's clients sign for us-east-1 (IAM's one region) whatever Berth's is.
    const global =
      scoped?.[1] === "us-east-1" && this.#bySigningName.get(scoped[2] ?? "")?.global === true;
    return verifySigV4(
      request,
      this.options.credentials,
      this.options.clock.now(),
      undefined,
      global ? undefined : this.options.identity.region,
    );
  }

  async #dispatch(
    service: AwsQueryService | undefined,
    request: SignedRequest,
    requestId: string,
    accessKeyId: string,
    principal: Principal,
  ): Promise<string> {
    const params = new URLSearchParams(request.body.toString("utf8"));
    const actionName = params.get("Action");
    params.delete("Action");
    params.delete("Version");
    const handler =
      service !== undefined && actionName !== null && Object.hasOwn(service.actions, actionName)
        ? service.actions[actionName]
        : undefined;
    if (service === undefined || actionName === null || handler === undefined)
      throw new AwsError(
        "InvalidAction",
        `Could not find operation ${actionName ?? ""} for version ${service?.model.metadata.apiVersion ?? ""}`,
      );
    const parsed = decodeQueryInput(service.model, actionName, params);
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
    return encodeQueryOutput(service.model, actionName, output, requestId);
  }
}
