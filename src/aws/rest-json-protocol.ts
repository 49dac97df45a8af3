/**
 * The one request pipeline of every AWS REST-JSON service (EKS): the operation is chosen by the
 * model's `http` binding (method + URI template), then authenticate -> gather the input from the
 * URI, query string, headers and JSON body as the model's `location`s say -> validate -> handle
 * -> render (output members bound to headers go there, the rest is the JSON body). Errors render
 * through the one renderer as REST-JSON does: the service's status for the code (the registry's,
 * which a unit test holds to the model's), `x-amzn-ErrorType` and `{"message"}`. Nothing escapes
 * as a crash.
 */
import { newRequestId } from "../core/index.js";
import { AwsError, renderError } from "./errors.js";
import {
  logFailure,
  performAction,
  AwsGateway,
  type Caller,
  type GatewayOptions,
  type GatewayResponse,
} from "./gateway.js";
import { renderJson } from "./json-protocol.js";
import type { Operation, ServiceModel, Shape } from "./model.js";
import type { AwsService } from "./service.js";
import { verifySigV4, type SignedRequest, type UnreadRequest } from "./sigv4.js";
import { parseJsonBody } from "./validate.js";

export type AwsRestJsonService = AwsService;

interface Route {
  service: AwsRestJsonService;
  name: string;
  operation: Operation;
  method: string;
  pattern: RegExp;
  /** The URI template's labels, in the order the pattern captures them. */
  labels: string[];
  /** Literal query parameters the template requires (`?include=x`). */
  literalQuery: [string, string][];
}

/** `/clusters/{name}/updates/{updateId}` -> a regular expression over the raw (encoded) path. */
function compileRoute(service: AwsRestJsonService, name: string, operation: Operation): Route {
  const http = operation.http ?? { method: "POST", requestUri: "/" };
  const [path = "/", query = ""] = http.requestUri.split("?", 2);
  const labels: string[] = [];
  const source = path
    .split(/(\{[^}]+\})/)
    .map((part) => {
      const label = /^\{([^}+]+)(\+?)\}$/.exec(part);
      if (label === null) return part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      labels.push(label[1] ?? "");
      return label[2] === "+" ? "(.+)" : "([^/]+)";
    })
    .join("");
  const literalQuery = [...new URLSearchParams(query)].filter(([, value]) => value !== "");
  return {
    service,
    name,
    operation,
    method: http.method,
    pattern: new RegExp(`^${source}/?$`),
    labels,
    literalQuery,
  };
}

/** A string from the URI, query or a header, as the member's shape types it (validation checks it). */
function fromString(model: ServiceModel, shapeName: string, raw: string[]): unknown {
  const shape: Shape | undefined = model.shapes[shapeName];
  const first = raw[raw.length - 1] ?? "";
  switch (shape?.type) {
    case "list":
      return raw.map((value) => fromString(model, shape.member?.shape ?? "", [value]));
    case "integer":
    case "long":
    case "double":
    case "float": {
      const number = Number(first);
      // A value that is no number stays a string: the validator names the type it wanted.
      return first.trim() === "" || Number.isNaN(number) ? first : number;
    }
    case "boolean":
      return first === "true" ? true : first === "false" ? false : first;
    default:
      return first;
  }
}

export class AwsRestJsonGateway extends AwsGateway<AwsRestJsonService> {
  readonly #routes: Route[] = [];

  constructor(options: GatewayOptions<AwsRestJsonService>) {
    super(options);
    for (const service of options.services)
      for (const name of Object.keys(service.actions)) {
        const operation = service.model.operations[name];
        if (operation?.http !== undefined)
          this.#routes.push(compileRoute(service, name, operation));
      }
    // Templates with more literal text first, so `/clusters/{name}/fargate-profiles` wins over
    // a label that could swallow the same path.
    this.#routes.sort((a, b) => b.pattern.source.length - a.pattern.source.length);
  }

  /** True when some operation's URI template names this path: the router asks before reading a body. */
  owns(path: string): boolean {
    return this.#routes.some((route) => route.pattern.test(path));
  }

  protected expected(request: UnreadRequest) {
    const url = new URL(request.url, "http://placeholder");
    return { service: this.#find(request.method, url, request.headers)?.service.signingName };
  }

  /** Serves one request whose body has already been read (within the size limit). */
  async handle(request: SignedRequest): Promise<GatewayResponse> {
    const requestId = newRequestId();
    const headers: Record<string, string> = {
      "x-amzn-RequestId": requestId,
      "Content-Type": "application/json",
    };
    let service: AwsRestJsonService | undefined;
    try {
      const url = new URL(request.url, "http://placeholder");
      const route = this.#find(request.method, url, request.headers);
      service = route?.service;
      const caller = await verifySigV4(
        request,
        this.options.credentials,
        this.options.clock.now(),
        service?.signingName,
      );
      if (route === undefined) throw new AwsError("UnknownOperationException", "");
      const output = await this.#dispatch(route, request, url, {
        requestId,
        accessKeyId: caller.accessKeyId,
        principal: caller.principal,
      });
      const { body, extraHeaders } = this.#render(route, output);
      return {
        status: route.operation.http?.responseCode ?? 200,
        headers: { ...headers, ...extraHeaders },
        body,
      };
    } catch (error) {
      // A path no operation serves with this method still belongs to the (one) REST-JSON service.
      const rendered = renderError(error, {
        requestId,
        service: service?.signingName ?? this.options.services[0]?.signingName,
        protocol: "rest-json",
      });
      if (rendered.status >= 500) logFailure(this.options.log, requestId, error);
      return rendered;
    }
  }

  /**
   * The route for a request. Two services may serve one template (EKS's and Scheduler's
   * `/tags/{arn}`): the service the client scoped its signature to wins.
   */
  #find(method: string, url: URL, headers: SignedRequest["headers"]): Route | undefined {
    const scope = signingScope(headers, url);
    let fallback: Route | undefined;
    for (const route of this.#routes) {
      if (route.method !== method || !route.pattern.test(url.pathname)) continue;
      if (!route.literalQuery.every(([key, value]) => url.searchParams.get(key) === value))
        continue;
      if (scope === undefined || route.service.signingName === scope) return route;
      fallback ??= route;
    }
    return fallback;
  }

  async #dispatch(
    route: Route,
    request: SignedRequest,
    url: URL,
    caller: Caller,
  ): Promise<unknown> {
    const { model } = route.service;
    const parsed = parseJsonBody(request.body);
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed))
      throw new AwsError("SerializationException", "Start of structure or map expected.");
    const input: Record<string, unknown> = { ...(parsed as Record<string, unknown>) };
    const inputShape = route.operation.input?.shape;
    const members = inputShape === undefined ? {} : (model.shapes[inputShape]?.members ?? {});
    const captured = route.pattern.exec(url.pathname)?.slice(1) ?? [];
    for (const [memberName, ref] of Object.entries(members)) {
      const wire = ref.locationName ?? memberName;
      // Bound members come only from where the model binds them, never from the body.
      if (ref.location !== undefined) delete input[memberName];
      if (ref.location === "uri") {
        const index = route.labels.indexOf(wire);
        const raw = index < 0 ? undefined : captured[index];
        if (raw !== undefined) input[memberName] = fromString(model, ref.shape, [decode(raw)]);
      } else if (ref.location === "querystring") {
        const values = url.searchParams.getAll(wire);
        if (values.length > 0) input[memberName] = fromString(model, ref.shape, values);
      } else if (ref.location === "header") {
        const value = request.headers[wire.toLowerCase()];
        if (typeof value === "string") input[memberName] = fromString(model, ref.shape, [value]);
      }
    }
    return performAction(this.options, route.service, route.name, input, caller);
  }

  #render(route: Route, output: unknown): { body: string; extraHeaders: Record<string, string> } {
    const extraHeaders: Record<string, string> = {};
    const outputShape = route.operation.output?.shape;
    const members =
      outputShape === undefined ? {} : (route.service.model.shapes[outputShape]?.members ?? {});
    const body: Record<string, unknown> = { ...((output ?? {}) as Record<string, unknown>) };
    for (const [memberName, ref] of Object.entries(members)) {
      if (ref.location !== "header") continue;
      const value = body[memberName];
      delete body[memberName];
      if (value !== undefined)
        extraHeaders[ref.locationName ?? memberName] =
          typeof value === "string" ? value : JSON.stringify(value);
    }
    return { body: renderJson(body), extraHeaders };
  }
}

/** The service a SigV4 signature is scoped to (`Credential=KEY/DATE/REGION/SERVICE/aws4_request`). */
function signingScope(headers: SignedRequest["headers"], url: URL): string | undefined {
  const authorization = headers.authorization;
  const credential =
    (typeof authorization === "string"
      ? /Credential=([^,\s]+)/.exec(authorization)?.[1]
      : undefined) ??
    url.searchParams.get("X-Amz-Credential") ??
    undefined;
  return credential?.split("/")[3];
}

/** A URI label as the client percent-encoded it; malformed escapes are taken literally. */
function decode(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}
