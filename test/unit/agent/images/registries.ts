/**
 * Registries for image tests, on loopback only: Debian's Go reference registry
 * (docker-registry, started with a temp storage dir and stopped by PID), and a small
 * in-process registry that serves given blobs behind Basic or Bearer auth and counts requests.
 */
import { startGoRegistry, type GoRegistry } from "../../../../src/testing/index.js";
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { once } from "node:events";
import { chmodSync, mkdtempSync, writeFileSync, rmSync, mkdirSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { create } from "tar";

const run = promisify(execFile);

export function sha256(bytes: Buffer): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

export type DockerRegistry = GoRegistry;

/** Starts docker-registry on a free loopback port with its storage in a temp dir. */
export const startDockerRegistry = startGoRegistry;

/** Pushes an OCI layout's tag with skopeo. */
export async function pushLayout(source: string, target: string): Promise<void> {
  await run("skopeo", ["copy", "--quiet", "--dest-tls-verify=false", source, `docker://${target}`]);
}

export type LayerFile = string | Buffer | null | { content: string | Buffer; mode: number };

/** A gzip tar layer of the given files (path -> content; `null` makes a directory). */
export async function makeLayer(files: Record<string, LayerFile>): Promise<Buffer> {
  const dir = mkdtempSync(join(tmpdir(), "berth-layer-"));
  try {
    const root = join(dir, "root");
    mkdirSync(root);
    for (const [path, content] of Object.entries(files)) {
      const target = join(root, path);
      if (content === null) mkdirSync(target, { recursive: true });
      else {
        mkdirSync(join(target, ".."), { recursive: true });
        if (typeof content === "string" || Buffer.isBuffer(content)) writeFileSync(target, content);
        else {
          writeFileSync(target, content.content);
          chmodSync(target, content.mode);
        }
      }
    }
    const file = join(dir, "layer.tar.gz");
    const tops = [...new Set(Object.keys(files).map((p) => p.split("/")[0] ?? p))].sort();
    await create({ gzip: true, file, cwd: root, portable: true }, tops);
    const { readFileSync } = await import("node:fs");
    return readFileSync(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface BuiltImage {
  blobs: Map<string, Buffer>;
  manifestDigest: string;
  manifest: Buffer;
  layerDigests: string[];
}

/** An OCI image (config + manifest) over the given gzip layers. */
export function makeImage(layers: Buffer[], config: Record<string, unknown> = {}): BuiltImage {
  const blobs = new Map<string, Buffer>();
  const configBytes = Buffer.from(
    JSON.stringify({
      architecture: "amd64",
      os: "linux",
      config,
      rootfs: { type: "layers", diff_ids: layers.map(() => "sha256:" + "0".repeat(64)) },
    }),
  );
  blobs.set(sha256(configBytes), configBytes);
  for (const layer of layers) blobs.set(sha256(layer), layer);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: {
        mediaType: "application/vnd.oci.image.config.v1+json",
        digest: sha256(configBytes),
        size: configBytes.length,
      },
      layers: layers.map((layer) => ({
        mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
        digest: sha256(layer),
        size: layer.length,
      })),
    }),
  );
  return {
    blobs,
    manifest,
    manifestDigest: sha256(manifest),
    layerDigests: layers.map(sha256),
  };
}

export interface FakeRegistry {
  host: string;
  /** GET counts by path. */
  requests: Map<string, number>;
  /** Serve a manifest (or index) under a tag or digest. */
  manifests: Map<string, { type: string; body: Buffer }>;
  blobs: Map<string, Buffer>;
  /** Bytes to serve instead of a blob's (to test verification). */
  corrupt: Set<string>;
  close(): Promise<void>;
}

export interface FakeRegistryOptions {
  auth?: "basic" | "bearer";
  username?: string;
  password?: string;
}

/** A registry that serves what the test puts in it, for auth flows and verification. */
export async function startFakeRegistry(options: FakeRegistryOptions = {}): Promise<FakeRegistry> {
  const requests = new Map<string, number>();
  const manifests = new Map<string, { type: string; body: Buffer }>();
  const blobs = new Map<string, Buffer>();
  const corrupt = new Set<string>();
  const basic = `Basic ${Buffer.from(`${options.username}:${options.password}`).toString("base64")}`;
  const token = "t0ken-for-tests";
  let host = "";
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", `http://${host}`);
    requests.set(url.pathname, (requests.get(url.pathname) ?? 0) + 1);
    if (url.pathname === "/token") {
      if (req.headers.authorization !== basic) return void res.writeHead(401).end();
      res.writeHead(200, { "content-type": "application/json" });
      return void res.end(JSON.stringify({ token }));
    }
    const auth = req.headers.authorization;
    if (options.auth === "basic" && auth !== basic) {
      res.writeHead(401, { "www-authenticate": 'Basic realm="test"' });
      return void res.end();
    }
    if (options.auth === "bearer" && auth !== `Bearer ${token}`) {
      res.writeHead(401, {
        "www-authenticate": `Bearer realm="http://${host}/token",service="test",scope="repository:x:pull"`,
      });
      return void res.end();
    }
    const manifest = /^\/v2\/(.+)\/manifests\/(.+)$/.exec(url.pathname);
    if (manifest) {
      const found = manifests.get(decodeURIComponent(manifest[2] ?? ""));
      if (!found)
        return void res
          .writeHead(404)
          .end('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}');
      res.writeHead(200, {
        "content-type": found.type,
        "docker-content-digest": sha256(found.body),
      });
      return void res.end(found.body);
    }
    const blob = /^\/v2\/(.+)\/blobs\/(.+)$/.exec(url.pathname);
    if (blob) {
      const digest = decodeURIComponent(blob[2] ?? "");
      const bytes = blobs.get(digest);
      if (!bytes) return void res.writeHead(404).end();
      res.writeHead(200, { "content-type": "application/octet-stream" });
      return void res.end(corrupt.has(digest) ? Buffer.concat([bytes, Buffer.from("x")]) : bytes);
    }
    res.writeHead(url.pathname === "/v2/" ? 200 : 404).end();
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    host,
    requests,
    manifests,
    blobs,
    corrupt,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
