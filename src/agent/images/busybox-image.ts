/**
 * Builds a tiny runnable image, with no network (for tests, and for `berth image busybox` so the
 * tour needs none): a root filesystem holding Debian's
 * static busybox as /bin/busybox plus a few applet links, as one gzip layer, with an OCI image
 * config and manifest, written as an OCI image layout (oci-layout, index.json, blobs/sha256).
 * `skopeo copy oci:DIR:TAG docker://...` pushes it. The same inputs give the same digests.
 * A hostile image (setuid-root files, device nodes) is packed with GNU tar, since node-tar
 * does not pack device nodes; making one needs root (mknod).
 */
import { createHash } from "node:crypto";
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { gunzipSync, gzipSync } from "node:zlib";
import { create } from "tar";
import { architecture } from "./store.js";

export const BUSYBOX = "/usr/bin/busybox";
const APPLETS = ["sh", "echo", "true", "false", "cat", "ls", "sleep", "env", "wget", "nc", "id"];

export interface OciImage {
  /** The OCI layout directory. */
  dir: string;
  tag: string;
  /** `oci:DIR:TAG`, what skopeo takes as the source. */
  reference: string;
  manifestDigest: string;
  manifest: Buffer;
  configDigest: string;
  config: Buffer;
  /** The gzip layer's digest, and its uncompressed diff id. */
  layerDigest: string;
  diffId: string;
  layerSize: number;
  /** Removes the layout directory. */
  remove(): void;
}

export interface OciImageOptions {
  /** Where to write the layout; a fresh temp directory by default. */
  dir?: string;
  tag?: string;
  /** The image's Cmd; `["sh"]` by default. */
  cmd?: string[];
  entrypoint?: string[];
  env?: string[];
  /** Extra files in the root filesystem, path (relative to /) -> content. */
  files?: Record<string, string>;
  /**
   * Files copied from the host, path in the image (relative to /) -> host path, mode kept
   * (a test image with a program and its shared libraries).
   */
  hostFiles?: Record<string, string>;
  /** Any label: changes the config, so each value gives a distinct image. */
  labels?: Record<string, string>;
  /** VOLUME paths, as a Dockerfile declares them. */
  volumes?: string[];
  /** Paths (relative to /) of setuid-root copies of busybox (mode 4755, owner 0:0). */
  setuidBusybox?: string[];
  /** Device nodes in the layer, mode 0666, owner 0:0. */
  devices?: Array<{ path: string; type: "b" | "c"; major: number; minor: number }>;
  /** The applets linked in /bin (default: the few tests use). */
  applets?: readonly string[];
  /** The history line saying what made the image. */
  createdBy?: string;
}

function sha256(bytes: Buffer): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

export async function buildBusyboxImage(options: OciImageOptions = {}): Promise<OciImage> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), "berth-oci-"));
  const tag = options.tag ?? "latest";
  const rootfs = mkdtempSync(join(tmpdir(), "berth-rootfs-"));
  const epoch = new Date(0);
  let layer: Buffer;
  try {
    mkdirSync(join(rootfs, "bin"));
    copyFileSync(BUSYBOX, join(rootfs, "bin", "busybox"));
    for (const applet of options.applets ?? APPLETS)
      symlinkSync("busybox", join(rootfs, "bin", applet));
    const entries = ["bin"];
    for (const [path, content] of Object.entries(options.files ?? {})) {
      const target = join(rootfs, path);
      mkdirSync(join(target, ".."), { recursive: true });
      writeFileSync(target, content);
      const top = path.replace(/^\/+/, "").split("/")[0] ?? path;
      if (!entries.includes(top)) entries.push(top);
    }
    for (const [path, source] of Object.entries(options.hostFiles ?? {})) {
      const target = join(rootfs, path);
      mkdirSync(join(target, ".."), { recursive: true });
      copyFileSync(source, target);
      chmodSync(target, statSync(source).mode & 0o777);
      const top = path.replace(/^\/+/, "").split("/")[0] ?? path;
      if (!entries.includes(top)) entries.push(top);
    }
    const hostile = [
      ...(options.setuidBusybox ?? []).map((path) => {
        const target = join(rootfs, path);
        mkdirSync(join(target, ".."), { recursive: true });
        copyFileSync(BUSYBOX, target);
        chmodSync(target, 0o4755);
        return path;
      }),
      ...(options.devices ?? []).map(({ path, type, major, minor }) => {
        const target = join(rootfs, path);
        mkdirSync(join(target, ".."), { recursive: true });
        execFileSync("mknod", ["-m", "0666", target, type, String(major), String(minor)]);
        return path;
      }),
    ];
    for (const path of hostile) {
      const top = path.replace(/^\/+/, "").split("/")[0] ?? path;
      if (!entries.includes(top)) entries.push(top);
    }
    const tarFile = join(rootfs, "..", `${rootfs.split("/").pop() ?? "rootfs"}.tar.gz`);
    if (hostile.length === 0) {
      await create(
        { gzip: true, file: tarFile, cwd: rootfs, portable: true, mtime: epoch },
        entries.sort(),
      );
      layer = readFileSync(tarFile);
    } else {
      const tar = execFileSync(
        "tar",
        [
          "-C",
          rootfs,
          "--numeric-owner",
          "--owner=0",
          "--group=0",
          "--mtime=@0",
          "--sort=name",
          "--format=posix",
          "--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime",
          "-cf",
          "-",
          ...entries.sort(),
        ],
        { maxBuffer: 64 * 1024 * 1024 },
      );
      layer = gzipSync(tar);
    }
    rmSync(tarFile, { force: true });
  } finally {
    rmSync(rootfs, { recursive: true, force: true });
  }
  const diffId = sha256(gunzipSync(layer));
  const layerDigest = sha256(layer);
  const config = Buffer.from(
    JSON.stringify({
      created: epoch.toISOString(),
      architecture: architecture(),
      os: "linux",
      config: {
        Env: options.env ?? ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
        Cmd: options.cmd ?? ["sh"],
        ...(options.entrypoint === undefined ? {} : { Entrypoint: options.entrypoint }),
        ...(options.labels === undefined ? {} : { Labels: options.labels }),
        ...(options.volumes === undefined
          ? {}
          : { Volumes: Object.fromEntries(options.volumes.map((v) => [v, {}])) }),
      },
      rootfs: { type: "layers", diff_ids: [diffId] },
      history: [
        {
          created: epoch.toISOString(),
          created_by: options.createdBy ?? "berth testing: busybox rootfs",
        },
      ],
    }),
  );
  const configDigest = sha256(config);
  const manifest = Buffer.from(
    JSON.stringify({
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
    }),
  );
  const manifestDigest = sha256(manifest);
  const blobs = join(dir, "blobs", "sha256");
  mkdirSync(blobs, { recursive: true });
  for (const [digest, bytes] of [
    [layerDigest, layer],
    [configDigest, config],
    [manifestDigest, manifest],
  ] as const)
    writeFileSync(join(blobs, digest.slice("sha256:".length)), bytes);
  writeFileSync(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  writeFileSync(
    join(dir, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          digest: manifestDigest,
          size: manifest.length,
          annotations: { "org.opencontainers.image.ref.name": tag },
        },
      ],
    }),
  );
  return {
    dir,
    tag,
    reference: `oci:${dir}:${tag}`,
    manifestDigest,
    manifest,
    configDigest,
    config,
    layerDigest,
    diffId,
    layerSize: layer.length,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
