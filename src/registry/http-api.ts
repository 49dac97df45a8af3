/**
 * The OCI Distribution API under `/v2/`, on Berth's one listener: authentication (HTTP Basic,
 * user AWS, an ECR password), routing, and the wire forms — headers, status codes, and the
 * spec's error JSON. Blob bodies stream from the socket to disk and from disk to the socket;
 * nothing here buffers a blob.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import {
  rootPrincipal,
  type Authorizer,
  type CredentialLookup,
  type Principal,
} from "../aws/index.js";
import { BerthError, type Logger } from "../core/index.js";
import { basicPassword, registryPasswordOwner } from "./auth.js";
import { RegistryError, renderRegistryError } from "./errors.js";
import { MAX_MANIFEST_BYTES, OCI_INDEX } from "./manifests.js";
import {
  checkRepositoryName,
  isDigest,
  parseContentRange,
  parseDigest,
  parseRange,
} from "./names.js";
import type { Registry } from "./registry.js";
import { sendFile } from "./send-file.js";

export interface RegistryHttpOptions {
  registry: Registry;
  credentials: CredentialLookup;
  log: Logger;
  /** Decides whether the password's owner may pull or push (ECR's IAM actions). */
  authorizer?: Authorizer;
}

/**
 * The ECR action a registry request is, as ECR's registry authorizes it: pulls are
 * BatchGetImage and GetDownloadUrlForLayer, pushes the layer upload actions and PutImage.
 */
function ecrAction(method: string, target: Route): string {
  const read = method === "GET" || method === "HEAD";
  switch (target.kind) {
    case "base":
      return "ecr:GetAuthorizationToken";
    case "catalog":
      return "ecr:DescribeRepositories";
    case "gc":
      // Berth's own extension: deleting unreferenced blobs is a registry-wide delete.
      return "ecr:BatchDeleteImage";
    case "tags":
      return "ecr:ListImages";
    case "manifest":
      return read
        ? "ecr:BatchGetImage"
        : method === "PUT"
          ? "ecr:PutImage"
          : "ecr:BatchDeleteImage";
    case "blob":
      if (method === "HEAD") return "ecr:BatchCheckLayerAvailability";
      return read ? "ecr:GetDownloadUrlForLayer" : "ecr:BatchDeleteImage";
    case "uploads":
      return method === "POST"
        ? "ecr:InitiateLayerUpload"
        : method === "PUT"
          ? "ecr:CompleteLayerUpload"
          : "ecr:UploadLayerPart";
    case "referrers":
      return "ecr:BatchGetImage";
  }
}

export type RegistryHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

type Route =
  | { kind: "base" }
  | { kind: "catalog" }
  | { kind: "gc" }
  | { kind: "tags"; name: string }
  | { kind: "manifest"; name: string; reference: string }
  | { kind: "blob"; name: string; digest: string }
  | { kind: "uploads"; name: string; id: string }
  | { kind: "referrers"; name: string; digest: string };

/** A path segment as sent; some clients percent-encode the `:` of a digest. */
function segment(value: string | undefined): string {
  try {
    return decodeURIComponent(value ?? "");
  } catch {
    return value ?? "";
  }
}

function route(path: string): Route | undefined {
  if (path === "/v2" || path === "/v2/") return { kind: "base" };
  if (path === "/v2/_catalog") return { kind: "catalog" };
  if (path === "/v2/_berth/gc") return { kind: "gc" };
  let m = /^\/v2\/(.+)\/blobs\/uploads\/?([^/]*)$/.exec(path);
  if (m) return { kind: "uploads", name: m[1] ?? "", id: segment(m[2]) };
  m = /^\/v2\/(.+)\/blobs\/([^/]+)$/.exec(path);
  if (m) return { kind: "blob", name: m[1] ?? "", digest: segment(m[2]) };
  m = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(path);
  if (m) return { kind: "manifest", name: m[1] ?? "", reference: segment(m[2]) };
  m = /^\/v2\/(.+)\/tags\/list$/.exec(path);
  if (m) return { kind: "tags", name: m[1] ?? "" };
  m = /^\/v2\/(.+)\/referrers\/([^/]+)$/.exec(path);
  if (m) return { kind: "referrers", name: m[1] ?? "", digest: segment(m[2]) };
  return undefined;
}

const unsupported = (): RegistryError =>
  new RegistryError("UNSUPPORTED", "The operation is unsupported.");

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers["content-length"];
  if (length !== undefined) return Number(length) > 0;
  return req.headers["transfer-encoding"] !== undefined;
}

function readLimited(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners("data");
        req.resume();
        reject(new RegistryError("MANIFEST_INVALID", "manifest too large", { limit }, 413));
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function empty(res: ServerResponse, status: number, headers: Record<string, string | number>) {
  res.writeHead(status, { ...headers, "Content-Length": 0 });
  res.end();
}

function json(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
  contentType = "application/json",
): void {
  const body = JSON.stringify(value);
  res.writeHead(status, {
    ...headers,
    "Content-Type": contentType,
    "Content-Length": Buffer.byteLength(body),
  });
  res.end(req.method === "HEAD" ? undefined : body);
}

/** `n` and `last` of the list endpoints, and the `Link` to the next page. */
function pageParams(query: URLSearchParams): { n: number | undefined; last: string | undefined } {
  const raw = query.get("n");
  let n: number | undefined;
  if (raw !== null && raw !== "") {
    n = Number(raw);
    if (!Number.isInteger(n) || n < 0)
      throw new RegistryError("UNSUPPORTED", "n must be a non-negative integer", { n: raw }, 400);
  }
  return { n, last: query.get("last") ?? undefined };
}

function nextLink(path: string, n: number, last: string): string {
  return `<${path}?n=${n}&last=${encodeURIComponent(last)}>; rel="next"`;
}

export function createRegistryHandler(options: RegistryHttpOptions): RegistryHandler {
  const { registry, log } = options;
  const realm = `Basic realm="Berth registry",service="ecr.amazonaws.com"`;

  async function authenticate(req: IncomingMessage): Promise<Principal> {
    const password = basicPassword(req.headers.authorization);
    if (password === undefined)
      throw new RegistryError("UNAUTHORIZED", "authentication required", {});
    const owner = await registryPasswordOwner(password, options.credentials, registry.clock.now());
    const check = owner.check;
    if (check === "invalid") throw new RegistryError("UNAUTHORIZED", "authentication required", {});
    if (check === "expired")
      // ECR answers an expired token with 403 DENIED, not 401.
      throw new RegistryError(
        "DENIED",
        "Your authorization token has expired. Reauthenticate and try again.",
      );
    return owner.credentials?.principal ?? rootPrincipal(registry.registryId);
  }

  /** ECR's registry answers a denied pull or push with 403 DENIED and IAM's sentence. */
  async function authorize(req: IncomingMessage, principal: Principal): Promise<void> {
    if (options.authorizer === undefined || principal.kind === "root") return;
    const target = route(new URL(req.url ?? "/", "http://registry").pathname);
    if (target === undefined) return;
    const resource = "name" in target ? registry.repositoryArn(target.name) : "*";
    try {
      await options.authorizer.authorize(principal, ecrAction(req.method ?? "GET", target), [
        { arn: resource },
      ]);
    } catch (error) {
      if (error instanceof BerthError && error.code === "AccessDeniedException")
        throw new RegistryError("DENIED", error.message, {});
      throw error;
    }
  }

  async function blob(req: IncomingMessage, res: ServerResponse, name: string, digest: string) {
    if (req.method === "DELETE") {
      await registry.requireRepository(name);
      await registry.deleteBlob(name, digest);
      return empty(res, 202, { "Docker-Content-Digest": digest });
    }
    if (req.method !== "GET" && req.method !== "HEAD") throw unsupported();
    await registry.requireRepository(name);
    const { size } = await registry.locateBlob(name, digest);
    const headers: Record<string, string | number> = {
      "Content-Type": "application/octet-stream",
      "Docker-Content-Digest": digest,
      ETag: `"${digest}"`,
      "Accept-Ranges": "bytes",
      "Cache-Control": "max-age=31536000",
    };
    const range = parseRange(req.headers.range, size);
    if (range === "unsatisfiable") {
      res.writeHead(416, { "Content-Range": `bytes */${size}`, "Content-Length": 0 });
      res.end();
      return;
    }
    const status = range === undefined ? 200 : 206;
    const length = range === undefined ? size : range.end - range.start + 1;
    if (range !== undefined) headers["Content-Range"] = `bytes ${range.start}-${range.end}/${size}`;
    res.writeHead(status, { ...headers, "Content-Length": length });
    if (req.method === "HEAD" || length === 0) return void res.end();
    await sendFile(registry.blobs.path(digest), res, range?.start ?? 0, range?.end ?? size - 1);
  }

  function uploadAccepted(
    res: ServerResponse,
    name: string,
    id: string,
    size: number,
    status = 202,
  ) {
    empty(res, status, {
      Location: `/v2/${name}/blobs/uploads/${id}`,
      Range: `0-${Math.max(0, size - 1)}`,
      "Docker-Upload-UUID": id,
    });
  }

  function blobCreated(res: ServerResponse, name: string, digest: string) {
    empty(res, 201, { Location: `/v2/${name}/blobs/${digest}`, "Docker-Content-Digest": digest });
  }

  async function uploads(
    req: IncomingMessage,
    res: ServerResponse,
    name: string,
    id: string,
    query: URLSearchParams,
  ) {
    if (id === "") {
      if (req.method !== "POST") throw unsupported();
      await registry.requireRepository(name, true);
      const mount = query.get("mount");
      const from = query.get("from");
      if (mount !== null && from !== null && (await registry.mountBlob(name, mount, from))) {
        req.resume();
        return blobCreated(res, name, mount);
      }
      const digest = query.get("digest");
      if (digest !== null) {
        parseDigest(digest);
        await registry.uploadMonolithic(name, digest, req);
        return blobCreated(res, name, digest);
      }
      req.resume();
      const started = await registry.uploads.start(name, registry.clock.now());
      return uploadAccepted(res, name, started, 0);
    }
    await registry.requireRepository(name, req.method !== "GET");
    switch (req.method) {
      case "GET":
        // The spec answers an upload's status with 204 No Content.
        return uploadAccepted(res, name, id, await registry.uploads.size(name, id), 204);
      case "PATCH": {
        const header = req.headers["content-range"];
        const range = header === undefined ? undefined : parseContentRange(header);
        if (header !== undefined && range === undefined)
          throw new RegistryError("BLOB_UPLOAD_INVALID", "malformed Content-Range", {}, 416);
        const length = req.headers["content-length"];
        if (
          range !== undefined &&
          length !== undefined &&
          Number(length) !== range.end - range.start + 1
        )
          throw new RegistryError("SIZE_INVALID", "Content-Length does not match Content-Range", {
            contentLength: length,
            contentRange: header,
          });
        const size = await registry.uploads.append(name, id, req, range);
        return uploadAccepted(res, name, id, size);
      }
      case "PUT": {
        const digest = query.get("digest");
        parseDigest(digest);
        await registry.completeUpload(name, id, digest as string, hasBody(req) ? req : undefined);
        return blobCreated(res, name, digest as string);
      }
      case "DELETE":
        await registry.uploads.cancel(name, id);
        return empty(res, 204, {});
      default:
        throw unsupported();
    }
  }

  async function manifest(
    req: IncomingMessage,
    res: ServerResponse,
    name: string,
    reference: string,
  ) {
    switch (req.method) {
      case "GET":
      case "HEAD": {
        const accept = String(req.headers.accept ?? "")
          .split(",")
          .map((t) => t.split(";", 1)[0]?.trim() ?? "")
          .filter((t) => t !== "");
        const found = await registry.getManifest(name, reference, accept);
        if (req.method === "GET")
          await registry.metadata.markPulled(name, found.digest, registry.clock.now());
        res.writeHead(200, {
          "Content-Type": found.mediaType,
          "Content-Length": found.bytes.length,
          "Docker-Content-Digest": found.digest,
          ETag: `"${found.digest}"`,
        });
        res.end(req.method === "HEAD" ? undefined : found.bytes);
        return;
      }
      case "PUT": {
        await registry.requireRepository(name, true);
        const bytes = await readLimited(req, MAX_MANIFEST_BYTES);
        const stored = await registry.putManifest(
          name,
          reference,
          bytes,
          req.headers["content-type"],
        );
        return empty(res, 201, {
          Location: `/v2/${name}/manifests/${stored.digest}`,
          "Docker-Content-Digest": stored.digest,
          ...(stored.subject === undefined ? {} : { "OCI-Subject": stored.subject }),
        });
      }
      case "DELETE": {
        await registry.requireRepository(name);
        if (isDigest(reference)) await registry.deleteManifest(name, reference);
        else if (reference.includes(":")) parseDigest(reference);
        else await registry.deleteTag(name, reference);
        return empty(res, 202, {});
      }
      default:
        throw unsupported();
    }
  }

  async function tags(
    req: IncomingMessage,
    res: ServerResponse,
    name: string,
    query: URLSearchParams,
  ) {
    if (req.method !== "GET" && req.method !== "HEAD") throw unsupported();
    await registry.requireRepository(name);
    const { n, last } = pageParams(query);
    const limit = n ?? 100_000;
    const found = limit === 0 ? [] : await registry.metadata.tags(name, last, limit + 1);
    const page = found.slice(0, limit);
    const headers: Record<string, string> = {};
    const tail = page[page.length - 1];
    if (found.length > limit && tail !== undefined)
      headers.Link = nextLink(`/v2/${name}/tags/list`, limit, tail);
    json(req, res, 200, { name, tags: page }, headers);
  }

  async function catalog(req: IncomingMessage, res: ServerResponse, query: URLSearchParams) {
    if (req.method !== "GET" && req.method !== "HEAD") throw unsupported();
    const { n, last } = pageParams(query);
    const limit = n ?? 100_000;
    const found = limit === 0 ? [] : await registry.metadata.repositoryNames(last, limit + 1);
    const page = found.slice(0, limit);
    const headers: Record<string, string> = {};
    const tail = page[page.length - 1];
    if (found.length > limit && tail !== undefined)
      headers.Link = nextLink("/v2/_catalog", limit, tail);
    json(req, res, 200, { repositories: page }, headers);
  }

  async function referrers(
    req: IncomingMessage,
    res: ServerResponse,
    name: string,
    digest: string,
    query: URLSearchParams,
  ) {
    if (req.method !== "GET" && req.method !== "HEAD") throw unsupported();
    await registry.requireRepository(name);
    parseDigest(digest);
    const artifactType = query.get("artifactType");
    const found = await registry.metadata.referrers(name, digest);
    const manifests = found
      .filter((m) => artifactType === null || m.artifactType === artifactType)
      .map((m) => ({
        mediaType: m.mediaType,
        digest: m.digest,
        size: m.manifestSize,
        ...(m.artifactType === undefined ? {} : { artifactType: m.artifactType }),
        ...(m.annotations === undefined ? {} : { annotations: m.annotations }),
      }));
    json(
      req,
      res,
      200,
      { schemaVersion: 2, mediaType: OCI_INDEX, manifests },
      artifactType === null ? {} : { "OCI-Filters-Applied": "artifactType" },
      OCI_INDEX,
    );
  }

  async function dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://registry");
    const target = route(url.pathname);
    if (target === undefined)
      throw new RegistryError("NAME_INVALID", "invalid repository name or path", {
        path: url.pathname,
      });
    if (target.kind === "base") {
      if (req.method !== "GET" && req.method !== "HEAD") throw unsupported();
      return json(req, res, 200, {});
    }
    if (target.kind === "catalog") return catalog(req, res, url.searchParams);
    if (target.kind === "gc") {
      // Berth's own extension: garbage collection on demand (it also runs on a timer).
      if (req.method !== "POST") throw unsupported();
      const result = await registry.collectGarbageOnDemand();
      return json(req, res, 200, result);
    }
    checkRepositoryName(target.name);
    switch (target.kind) {
      case "tags":
        return tags(req, res, target.name, url.searchParams);
      case "manifest":
        return manifest(req, res, target.name, target.reference);
      case "blob":
        return blob(req, res, target.name, target.digest);
      case "uploads":
        return uploads(req, res, target.name, target.id, url.searchParams);
      case "referrers":
        return referrers(req, res, target.name, target.digest, url.searchParams);
    }
  }

  function fail(req: IncomingMessage, res: ServerResponse, error: unknown): void {
    if (res.headersSent || res.destroyed) {
      res.destroy();
      return;
    }
    // A request whose body we did not read: close, rather than drain a blob we refused.
    const close = !req.readableEnded && hasBody(req);
    const headers: Record<string, string | number> = close ? { Connection: "close" } : {};
    let status: number;
    let body: string;
    if (error instanceof RegistryError) {
      status = error.status;
      body = renderRegistryError(error);
      if (status === 401) headers["WWW-Authenticate"] = realm;
      const detail = error.detail as { size?: unknown } | undefined;
      if (status === 416 && typeof detail?.size === "number")
        headers.Range = `0-${Math.max(0, detail.size - 1)}`;
    } else if (req.destroyed || req.readableAborted) {
      // The client went away mid-body; there is nobody to answer.
      res.destroy();
      return;
    } else {
      status = 500;
      body = JSON.stringify({
        errors: [{ code: "UNKNOWN", message: "unknown error", detail: {} }],
      });
    }
    // The registry's own failures (a full disk, a fault of ours) are the operator's to see.
    if (status >= 500)
      log.error("registry request failed", {
        method: req.method,
        url: req.url,
        error: error instanceof BerthError ? `${error.code}: ${error.message}` : String(error),
      });
    res.writeHead(status, {
      ...headers,
      "Content-Type": "application/json",
      "Content-Length": Buffer.byteLength(body),
    });
    res.end(req.method === "HEAD" ? undefined : body);
    if (close) req.resume();
  }

  return async (req, res) => {
    res.setHeader("Docker-Distribution-API-Version", "registry/2.0");
    try {
      await authorize(req, await authenticate(req));
      await dispatch(req, res);
    } catch (error) {
      fail(req, res, error);
    }
  };
}
