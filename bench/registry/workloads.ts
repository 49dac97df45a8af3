/**
 * What the benchmark moves: OCI layouts of random layers (fresh bytes each run, so no registry
 * can skip work by deduplication or cross-repository mounts), pushed and pulled with skopeo, and
 * one big blob moved with curl, the raw HTTP client.
 */
import { execFile, spawn } from "node:child_process";
import { createHash, randomFillSync } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { Peer } from "./peers.js";

const run = promisify(execFile);

export interface Layout {
  dir: string;
  bytes: number;
  remove(): void;
}

function sha256(bytes: Buffer): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

/** An OCI layout with `count` random layers of `size` bytes each. */
export function randomLayout(count: number, size: number): Layout {
  const dir = mkdtempSync(join(tmpdir(), "berth-bench-layout-"));
  const blobs = join(dir, "blobs", "sha256");
  mkdirSync(blobs, { recursive: true });
  const write = (bytes: Buffer): { digest: string; size: number } => {
    const digest = sha256(bytes);
    writeFileSync(join(blobs, digest.slice(7)), bytes);
    return { digest, size: bytes.length };
  };
  const layers = [];
  const diffIds = [];
  for (let i = 0; i < count; i++) {
    const layer = randomFillSync(Buffer.allocUnsafe(size));
    const described = write(layer);
    layers.push({ mediaType: "application/vnd.oci.image.layer.v1.tar", ...described });
    diffIds.push(described.digest);
  }
  const config = write(
    Buffer.from(
      JSON.stringify({
        architecture: "amd64",
        os: "linux",
        rootfs: { type: "layers", diff_ids: diffIds },
        config: {},
      }),
    ),
  );
  const manifest = write(
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
        layers,
      }),
    ),
  );
  writeFileSync(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  writeFileSync(
    join(dir, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          ...manifest,
          annotations: { "org.opencontainers.image.ref.name": "bench" },
        },
      ],
    }),
  );
  return {
    dir,
    bytes: count * size,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

function credsFlags(peer: Peer, direction: "src" | "dest"): string[] {
  return [
    ...(peer.creds === undefined
      ? [`--${direction}-no-creds`]
      : [`--${direction}-creds`, peer.creds]),
    `--${direction}-tls-verify=false`,
  ];
}

export async function skopeoPush(peer: Peer, layout: Layout, repository: string): Promise<number> {
  const started = performance.now();
  await run("skopeo", [
    "copy",
    "--quiet",
    ...credsFlags(peer, "dest"),
    `oci:${layout.dir}:bench`,
    `docker://${peer.host}/${repository}:bench`,
  ]);
  return (performance.now() - started) / 1000;
}

export async function skopeoPull(peer: Peer, repository: string): Promise<number> {
  const target = mkdtempSync(join(tmpdir(), "berth-bench-pull-"));
  try {
    const started = performance.now();
    await run("skopeo", [
      "copy",
      "--quiet",
      ...credsFlags(peer, "src"),
      `docker://${peer.host}/${repository}:bench`,
      `oci:${target}:bench`,
    ]);
    return (performance.now() - started) / 1000;
  } finally {
    rmSync(target, { recursive: true, force: true });
  }
}

function curl(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn("curl", ["-s", "-S", "--fail", ...args]);
    let out = "";
    let err = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (err += c.toString()));
    child.on("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`curl: ${err}`))));
  });
}

function authArgs(peer: Peer): string[] {
  return peer.authorization === undefined ? [] : ["-H", `Authorization: ${peer.authorization}`];
}

/**
 * One blob in a single request body: POST opens the upload, PUT ?digest= carries the whole blob
 * (distribution 2.8 has no monolithic POST). Returns seconds for the PUT.
 */
export async function rawUpload(
  peer: Peer,
  repository: string,
  file: string,
  digest: string,
): Promise<number> {
  const opened = await fetch(`http://${peer.host}/v2/${repository}/blobs/uploads/`, {
    method: "POST",
    headers: peer.authorization === undefined ? {} : { authorization: peer.authorization },
  });
  if (opened.status !== 202) throw new Error(`${peer.name}: POST answered ${opened.status}`);
  const location = new URL(opened.headers.get("location") ?? "", `http://${peer.host}`);
  location.searchParams.set("digest", digest);
  const time = await curl([
    ...authArgs(peer),
    "-o",
    "/dev/null",
    "-w",
    "%{time_total}",
    "-X",
    "PUT",
    "-H",
    "Content-Type: application/octet-stream",
    // From memory, not streamed from the file: curl's -T reads in 64 KiB steps and would be
    // the bottleneck here.
    "--data-binary",
    `@${file}`,
    location.toString(),
  ]);
  return Number(time);
}

export async function rawDownload(peer: Peer, repository: string, digest: string): Promise<number> {
  const time = await curl([
    ...authArgs(peer),
    "-o",
    "/dev/null",
    "-w",
    "%{time_total}",
    `http://${peer.host}/v2/${repository}/blobs/${digest}`,
  ]);
  return Number(time);
}
