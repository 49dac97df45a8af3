/**
 * The one request pipeline of every AWS Query service (form-encoded POST, XML answers):
 * authenticate -> pick the service by the credential scope's signing name -> parse the form
 * against the model -> validate -> handle -> render XML. Failures render as the Query
 * protocol's `<ErrorResponse>`; nothing escapes as a crash.
 */
import { BerthError, newRequestId } from "../core/index.js";
import { AWS_ERROR_CODES, type AwsErrorSpec } from "./error-codes.js";
import { AwsError, renderError } from "./errors.js";
import {
  logFailure,
  performAction,
  AwsGateway,
  servesAction,
  sessionPrincipal,
  type Caller,
  type GatewayOptions,
  type GatewayResponse,
} from "./gateway.js";
import { JSON_CONTENT_TYPE, renderJson } from "./json-protocol.js";
import { decodeQueryInput, encodeQueryError, encodeQueryOutput } from "./query-codec.js";
import { verifySigV4, type SignedRequest } from "./sigv4.js";
import type { AwsService } from "./service.js";
import { parseJsonBody } from "./validate.js";

export const FORM_CONTENT_TYPE = "application/x-www-form-urlencoded";

/** Its signing name selects the service, e.g. `elasticloadbalancing`. */
export interface AwsQueryService extends AwsService {
  /** IAM and STS are global: their clients sign for us-east-1 whatever Berth's region is. */
  global?: boolean;
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

export class AwsQueryGateway extends AwsGateway<AwsQueryService> {
  readonly #bySigningName = new Map<string, AwsQueryService>();

  constructor(options: GatewayOptions<AwsQueryService>) {
    super(options);
    for (const service of options.services) this.#bySigningName.set(service.signingName, service);
  }

  protected expected() {
    return { region: this.options.identity.region };
  }

  /** Serves one Query request whose body has already been read (within the size limit). */
  async handle(request: SignedRequest): Promise<GatewayResponse> {
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
      const body = await this.#dispatch(service, request, {
        requestId,
        accessKeyId: caller.accessKeyId,
        principal: caller.principal,
      });
      return { status: 200, headers, body };
    } catch (error) {
      const client = error instanceof BerthError && error.fault === "client";
      if (!client) logFailure(this.options.log, requestId, error);
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
  ): Promise<GatewayResponse> {
    const requestId = newRequestId();
    try {
      const principal = await sessionPrincipal(this.options, accessKeyId);
      const service = this.#bySigningName.get(signingName);
      if (service === undefined || !servesAction(service, actionName))
        throw new AwsError("InvalidAction", `Could not find operation ${actionName}`);
      const output = await performAction(this.options, service, actionName, parseJsonBody(body), {
        requestId,
        accessKeyId,
        principal,
      });
      return {
        status: 200,
        headers: { "x-amzn-RequestId": requestId, "Content-Type": JSON_CONTENT_TYPE },
        body: renderJson(output),
      };
    } catch (error) {
      const rendered = renderError(error, { requestId });
      if (rendered.status >= 500) logFailure(this.options.log, requestId, error);
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
    caller: Caller,
  ): Promise<string> {
    const params = new URLSearchParams(request.body.toString("utf8"));
    const actionName = params.get("Action");
    params.delete("Action");
    params.delete("Version");
    if (service === undefined || actionName === null || !servesAction(service, actionName))
      throw new AwsError(
        "InvalidAction",
        `Could not find operation ${actionName ?? ""} for version ${service?.model.metadata.apiVersion ?? ""}`,
      );
    const input = decodeQueryInput(service.model, actionName, params);
    const output = await performAction(this.options, service, actionName, input, caller);
    return encodeQueryOutput(service.model, actionName, output, caller.requestId);
  }
}
