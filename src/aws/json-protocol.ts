/**
 * The one request pipeline of every AWS JSON 1.1 service:
 * parse target -> authenticate -> parse JSON -> validate -> handle -> render.
 * Any failure at any step renders through `renderError`; nothing escapes as a crash.
 */
import { BerthError, newRequestId } from "../core/index.js";
import { AwsError, renderError } from "./errors.js";
import {
  performAction,
  AwsGateway,
  servesAction,
  sessionPrincipal,
  type Caller,
  type GatewayOptions,
  type GatewayResponse,
} from "./gateway.js";
import type { AwsJsonService } from "./service.js";
import { verifySigV4, type SignedRequest, type UnreadRequest } from "./sigv4.js";
import { parseJsonBody } from "./validate.js";

export const JSON_CONTENT_TYPE = "application/x-amz-json-1.1";

/**
 * `value` with its Dates as epoch seconds (JSON 1.1's timestamps): copies only of the objects
 * and arrays on the way to a Date, `value` itself when it holds none. What JSON.stringify would
 * make of anything else (a toJSON of its own) is left to it. A replacer did this before, called
 * back for every key of the output: RunTask's answer of ten tasks took 57 µs to render with
 * it, 33 µs with this (scratch script, the same text).
 */
function epochSeconds(value: unknown): unknown {
  if (typeof value !== "object" || value === null) return value;
  if (value instanceof Date) return value.getTime() / 1000;
  if (Array.isArray(value)) {
    const list = value as unknown[];
    let copy: unknown[] | undefined;
    for (let at = 0; at < list.length; at++) {
      const item = list[at];
      const rendered = epochSeconds(item);
      if (rendered !== item) (copy ??= [...list])[at] = rendered;
    }
    return copy ?? list;
  }
  if (typeof (value as { toJSON?: unknown }).toJSON === "function") return value;
  let copy: Record<string, unknown> | undefined;
  for (const key of Object.keys(value)) {
    const item = (value as Record<string, unknown>)[key];
    if (typeof item !== "object" || item === null) continue;
    const rendered = epochSeconds(item);
    if (rendered !== item) (copy ??= { ...(value as Record<string, unknown>) })[key] = rendered;
  }
  return copy ?? value;
}

/** Values rendered by `renderOnce`, and their text. */
const rendered = new WeakMap<object, string>();

export function renderJson(value: unknown): string {
  if (typeof value === "object" && value !== null) {
    const text = rendered.get(value);
    if (text !== undefined) return text;
  }
  return JSON.stringify(epochSeconds(value ?? {}));
}

/**
 * `value` rendered, the text kept for it: rendering it again (a handler's output, as the
 * response) gives that text without rendering anew. For an answer rendered before it is returned
 * (RunTask's, stored for its clientToken): rendering ten tasks twice was 1.8% of the server's
 * CPU profile in bench:placement (PostgreSQL, one server). `value` must not change afterwards.
 */
export function renderOnce(value: object): string {
  const text = renderJson(value);
  rendered.set(value, text);
  return text;
}

export class AwsJsonGateway extends AwsGateway<AwsJsonService> {
  readonly #byPrefix = new Map<string, AwsJsonService>();

  constructor(options: GatewayOptions<AwsJsonService>) {
    super(options);
    for (const service of options.services) this.#byPrefix.set(service.targetPrefix, service);
  }

  protected expected(request: UnreadRequest) {
    return { service: this.#serviceOf(request)?.signingName, region: this.options.identity.region };
  }

  #serviceOf(request: UnreadRequest): AwsJsonService | undefined {
    const target = request.headers["x-amz-target"];
    const prefix = typeof target === "string" ? target.split(".", 1)[0] : undefined;
    return prefix === undefined ? undefined : this.#byPrefix.get(prefix);
  }

  /** Serves one JSON 1.1 request whose body has already been read (within the size limit). */
  async handle(request: SignedRequest): Promise<GatewayResponse> {
    return this.#answer((requestId) => this.#dispatch(request, requestId));
  }

  /**
   * Serves one action for a caller authenticated another way (the console's session, which
   * proved the same secret): the same target lookup, validation, handler and rendering as a
   * signed request, so whatever authorizes a signed call authorizes this one.
   */
  async invoke(accessKeyId: string, target: string, body: Buffer): Promise<GatewayResponse> {
    return this.#answer(async (requestId) =>
      this.#perform(target, body, {
        requestId,
        accessKeyId,
        principal: await sessionPrincipal(this.options, accessKeyId),
      }),
    );
  }

  async #answer(run: (requestId: string) => Promise<string>): Promise<GatewayResponse> {
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
    return this.#perform(typeof target === "string" ? target : "", request.body, {
      requestId,
      accessKeyId: caller.accessKeyId,
      principal: caller.principal,
    });
  }

  async #perform(target: string, body: Buffer, caller: Caller): Promise<string> {
    const [prefix, actionName] = target.split(".", 2);
    const service = prefix === undefined ? undefined : this.#byPrefix.get(prefix);
    if (service === undefined || actionName === undefined || !servesAction(service, actionName))
      throw new AwsError("UnknownOperationException", "");
    const output = await performAction(
      this.options,
      service,
      actionName,
      parseJsonBody(body),
      caller,
    );
    return renderJson(output);
  }
}

function describe(error: unknown): string {
  if (error instanceof BerthError) return `${error.code}: ${error.message}`;
  if (error instanceof Error) return error.stack ?? error.message;
  return String(error);
}
