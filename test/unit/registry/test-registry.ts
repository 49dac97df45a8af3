/**
 * A registry and the ECR API on a loopback port, built from the components alone (no agent, no
 * other services), for spec-level tests. Helpers push blobs and manifests the way clients do.
 */
import { createHash } from "node:crypto";
import { createServer, type Server } from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AwsJsonGateway, type Credentials } from "../../../src/aws/index.js";
import { silentLogger, systemClock, type Clock } from "../../../src/core/index.js";
import {
  createRegistryHandler,
  mintRegistryPassword,
  Registry,
} from "../../../src/registry/index.js";
import { createEcrService } from "../../../src/services/ecr/index.js";
import { openSqliteStore, type Store } from "../../../src/store/index.js";

export const CREDENTIALS: Credentials = {
  accessKeyId: "AKIAREGISTRYTEST0001",
  secretAccessKey: "registry-test-secret-key-000000000000000",
};

export interface TestRegistry {
  url: string;
  host: string;
  dir: string;
  registry: Registry;
  store: Store;
  auth: string;
  clientConfig: { endpoint: string; region: string; credentials: Credentials; maxAttempts: number };
  /** fetch against the registry with the Basic credentials unless `headers` override them. */
  request(path: string, init?: RequestInit): Promise<Response>;
  createRepository(name: string): Promise<void>;
  pushBlob(repository: string, bytes: Buffer): Promise<string>;
  pushManifest(
    repository: string,
    reference: string,
    doc: unknown,
    mediaType?: string,
  ): Promise<{ response: Response; digest: string; bytes: Buffer }>;
  /** Pushes a config and one layer plus their OCI manifest under `tag`. */
  pushImage(repository: string, tag: string | undefined, seed: string): Promise<string>;
  close(): Promise<void>;
}

export function sha256(bytes: Buffer | string): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

export async function startTestRegistry(
  options: {
    autoCreate?: boolean;
    maxConcurrentWrites?: number;
    clock?: Clock;
    gcGraceMs?: number;
    credentials?: () => Credentials;
    maintainedByLeader?: boolean;
  } = {},
): Promise<TestRegistry> {
  const dir = mkdtempSync(join(tmpdir(), "berth-registry-test-"));
  const store = await openSqliteStore(join(dir, "berth.db"));
  const clock = options.clock ?? systemClock;
  const current = options.credentials ?? (() => CREDENTIALS);
  const lookup = (id: string): Credentials | undefined =>
    id === current().accessKeyId ? current() : undefined;
  const identity = { accountId: "000000000000", region: "us-east-1" };
  const registry = new Registry({
    root: join(dir, "registry"),
    store,
    identity,
    clock,
    log: silentLogger,
    credentials: lookup,
    autoCreate: options.autoCreate,
    maxConcurrentWrites: options.maxConcurrentWrites,
    gcGraceMs: options.gcGraceMs,
    gcIntervalMs: 0,
    maintainedByLeader: options.maintainedByLeader,
  });
  await registry.start();
  let host = "";
  const gateway = new AwsJsonGateway({
    services: [
      createEcrService({
        registry,
        store,
        credentials: lookup,
        registryHost: () => host,
        endpoint: () => `http://${host}`,
      }),
    ],
    credentials: lookup,
    identity,
    clock,
    log: silentLogger,
  });
  const handler = createRegistryHandler({ registry, credentials: lookup, log: silentLogger });
  const server: Server = createServer((req, res) => {
    if ((req.url ?? "").startsWith("/v2")) {
      void handler(req, res);
      return;
    }
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      void gateway
        .handle({
          method: req.method ?? "POST",
          url: req.url ?? "/",
          headers: req.headers,
          body: Buffer.concat(chunks),
        })
        .then((answer) => {
          res.writeHead(answer.status, answer.headers);
          res.end(answer.body);
        });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  const url = `http://${host}`;
  const { password } = mintRegistryPassword(CREDENTIALS, clock.now());
  const auth = `Basic ${Buffer.from(`AWS:${password}`).toString("base64")}`;

  const request = (path: string, init: RequestInit = {}): Promise<Response> =>
    fetch(url + path, {
      ...init,
      headers: { authorization: auth, ...(init.headers as Record<string, string> | undefined) },
    });

  const self: TestRegistry = {
    url,
    host,
    dir,
    registry,
    store,
    auth,
    clientConfig: { endpoint: url, region: "us-east-1", credentials: CREDENTIALS, maxAttempts: 1 },
    request,
    async createRepository(name) {
      await registry.createRepository(name, "MUTABLE", {});
    },
    async pushBlob(repository, bytes) {
      const digest = sha256(bytes);
      const response = await request(`/v2/${repository}/blobs/uploads/?digest=${digest}`, {
        method: "POST",
        body: bytes,
      });
      if (response.status !== 201)
        throw new Error(`blob push failed: ${response.status} ${await response.text()}`);
      return digest;
    },
    async pushManifest(repository, reference, doc, mediaType) {
      const bytes = Buffer.from(JSON.stringify(doc));
      const response = await request(`/v2/${repository}/manifests/${reference}`, {
        method: "PUT",
        body: bytes,
        headers: {
          "content-type":
            mediaType ??
            (doc as { mediaType?: string }).mediaType ??
            "application/vnd.oci.image.manifest.v1+json",
        },
      });
      return { response, digest: sha256(bytes), bytes };
    },
    async pushImage(repository, tag, seed) {
      const config = Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", seed }));
      const layer = Buffer.from(`layer ${seed}`);
      const configDigest = await self.pushBlob(repository, config);
      const layerDigest = await self.pushBlob(repository, layer);
      const doc = {
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        config: {
          mediaType: "application/vnd.oci.image.config.v1+json",
          digest: configDigest,
          size: config.length,
        },
        layers: [
          {
            mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
            digest: layerDigest,
            size: layer.length,
          },
        ],
      };
      const bytes = Buffer.from(JSON.stringify(doc));
      const { response, digest } = await self.pushManifest(repository, tag ?? sha256(bytes), doc);
      if (response.status !== 201)
        throw new Error(`manifest push failed: ${response.status} ${await response.text()}`);
      return digest;
    },
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await registry.stop();
      await store.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return self;
}

/** The spec's error body: `{"errors":[{code,message,detail}]}`; returns the first code. */
export async function errorCode(response: Response): Promise<string> {
  const body = (await response.json()) as { errors?: Array<{ code?: string; message?: unknown }> };
  const first = body.errors?.[0];
  if (first === undefined || typeof first.message !== "string")
    throw new Error(`not an OCI error body: ${JSON.stringify(body)}`);
  return first.code ?? "";
}
