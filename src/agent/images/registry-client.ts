/**
 * A small OCI distribution client: GET manifests and blobs, with the two auth schemes
 * registries use — HTTP Basic (ECR, Berth) and the Bearer token flow (Docker Hub and most
 * others: 401 with `WWW-Authenticate: Bearer realm=...,service=...,scope=...`).
 */
import { BerthError } from "../../core/index.js";
import { fetchTrusting, type OwnRegistry } from "./own-registry.js";
import { isLoopbackRegistry, type ImageReference } from "./reference.js";

export interface RegistryCredentials {
  username: string;
  password: string;
}

export const MANIFEST_ACCEPT = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
].join(", ");

function parseChallenge(header: string): { scheme: string; params: Record<string, string> } {
  const space = header.indexOf(" ");
  const scheme = (space < 0 ? header : header.slice(0, space)).toLowerCase();
  const params: Record<string, string> = {};
  for (const match of header.slice(space + 1).matchAll(/(\w+)="([^"]*)"/g))
    params[match[1] ?? ""] = match[2] ?? "";
  return { scheme, params };
}

/**
 * A registry that did not answer, named with the cause (fetch says only "fetch failed"; the
 * system error is its cause): `registry-1.docker.io: cannot connect (ENOTFOUND ...)`.
 */
function unreachable(registry: string, error: unknown): unknown {
  if (!(error instanceof Error) || error.name === "AbortError") return error;
  const cause = error.cause instanceof Error ? error.cause : error;
  const code = (cause as { code?: unknown }).code;
  const detail =
    typeof code === "string" && !cause.message.includes(code)
      ? `${code} ${cause.message}`
      : cause.message;
  return new BerthError("RegistryUnreachable", `${registry}: cannot connect (${detail})`, {
    cause: error,
  });
}

export class RegistryClient {
  #authorization: string | undefined;
  #challenged = false;

  constructor(
    private readonly image: ImageReference,
    private readonly credentials?: RegistryCredentials,
    /** Berth's own registry, when this image is in it: reached at the agent's server. */
    private readonly own?: OwnRegistry,
  ) {}

  get base(): string {
    if (this.own !== undefined) return `${this.own.origin}/v2/${this.image.repository}`;
    const plain = isLoopbackRegistry(this.image.registry);
    return `${plain ? "http" : "https"}://${this.image.registry}/v2/${this.image.repository}`;
  }

  /** GETs a path under /v2/REPOSITORY, authenticating once if challenged. */
  async get(path: string, accept?: string, signal?: AbortSignal): Promise<Response> {
    const url = `${this.base}${path}`;
    const caPem = this.own?.caPem;
    const attempt = (): Promise<Response> => {
      const headers = {
        ...(accept === undefined ? {} : { accept }),
        ...(this.#authorization === undefined ? {} : { authorization: this.#authorization }),
      };
      const withSignal = signal === undefined ? {} : { signal };
      return caPem !== undefined && url.startsWith("https:")
        ? fetchTrusting(caPem, url, { headers, ...withSignal })
        : fetch(url, { headers, redirect: "follow", ...withSignal });
    };
    // "fetch failed" alone says nothing: the error names the registry, where it was sought, why.
    const send = (): Promise<Response> =>
      attempt().catch((error: unknown) => {
        // Berth's own registry is named with where it was sought (the server, not the name).
        const where =
          this.own === undefined
            ? this.image.registry
            : `${this.image.registry} (at ${this.own.origin})`;
        throw unreachable(where, error);
      });
    // With credentials, Basic goes along at once (ECR and Berth take it): no 401 round trip.
    // A registry that wants a Bearer token still answers 401 with its challenge.
    if (this.#authorization === undefined && this.credentials !== undefined)
      this.#authorization = `Basic ${Buffer.from(`${this.credentials.username}:${this.credentials.password}`).toString("base64")}`;
    let response = await send();
    if (response.status === 401 && !this.#challenged) {
      this.#challenged = true;
      await response.body?.cancel();
      await this.#authenticate(response.headers.get("www-authenticate") ?? "", signal);
      response = await send();
    }
    if (!response.ok) {
      const body = await response.text().catch(() => "");
      const detail =
        /"message"\s*:\s*"([^"]*)"/.exec(body)?.[1] ?? (body.slice(0, 200) || response.statusText);
      throw new BerthError(
        response.status === 404
          ? "ImageNotFound"
          : response.status === 401 || response.status === 403
            ? "ImageAccessDenied"
            : "RegistryError",
        `${this.image.registry}/${this.image.repository}${path}: ${response.status} ${detail}`,
      );
    }
    return response;
  }

  async #authenticate(challenge: string, signal?: AbortSignal): Promise<void> {
    const { scheme, params } = parseChallenge(challenge);
    const basic =
      this.credentials === undefined
        ? undefined
        : `Basic ${Buffer.from(`${this.credentials.username}:${this.credentials.password}`).toString("base64")}`;
    if (scheme === "basic") {
      if (basic === undefined)
        throw new BerthError("ImageAccessDenied", `${this.image.registry} requires credentials`);
      this.#authorization = basic;
      return;
    }
    if (scheme !== "bearer" || params.realm === undefined)
      throw new BerthError(
        "RegistryError",
        `${this.image.registry} asked for unsupported authentication: ${challenge}`,
      );
    const tokenUrl = new URL(params.realm);
    if (params.service !== undefined) tokenUrl.searchParams.set("service", params.service);
    tokenUrl.searchParams.set("scope", params.scope ?? `repository:${this.image.repository}:pull`);
    const response = await fetch(tokenUrl, {
      headers: basic === undefined ? {} : { authorization: basic },
      ...(signal === undefined ? {} : { signal }),
    }).catch((error: unknown) => {
      throw unreachable(tokenUrl.host, error);
    });
    if (!response.ok)
      throw new BerthError(
        "ImageAccessDenied",
        `${this.image.registry} refused a token: ${response.status}`,
      );
    const body = (await response.json()) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (token === undefined)
      throw new BerthError("ImageAccessDenied", `${this.image.registry} gave no token`);
    this.#authorization = `Bearer ${token}`;
  }
}
