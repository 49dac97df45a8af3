/**
 * Images on the host: a content-addressed cache shared by all tasks.
 *
 *   <root>/blobs/<alg>/<hex>     manifests, configs and layers as pulled, digests verified
 *   <root>/snapshots/<hex>/      each layer unpacked once (overlayfs whiteout form)
 *   <root>/images/<hex>.json     a pulled image: its layers and run config
 *   <root>/mounts/<container>/   a container's overlay: merged, and upper and work unless the
 *                                container's writes live elsewhere (the task's own filesystem)
 *
 * The snapshots directory is a bind mount of itself with nosuid,nodev: a layer's setuid files
 * keep their bits (the containers' overlays honour them under their own mount flags), but the
 * host never runs them as their owner. Device nodes are not unpacked at all (layers.ts).
 *
 * Concurrent pulls of one layer share one download and one unpack. A container's root
 * filesystem is an overlay mount of the image's snapshots with its own upper directory, so a
 * cached image costs no copying. Unused images are collected least recently used first.
 */
import { createHash, randomUUID } from "node:crypto";
import {
  chmodSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { BerthError, PRIVATE_DIR, PRIVATE_FILE, type Logger } from "../../core/index.js";
import { runCommand, type RootfsProvider } from "../runtime/index.js";
import type { ImageRunConfig, PullOptions, PulledImage } from "./types.js";
import { unpackLayer } from "./layers.js";
import { parseReference } from "./reference.js";
import type { OwnRegistry } from "./own-registry.js";
import { MANIFEST_ACCEPT, RegistryClient } from "./registry-client.js";

interface Descriptor {
  mediaType?: string;
  digest: string;
  size: number;
  platform?: { architecture?: string; os?: string; variant?: string };
}

interface Manifest {
  mediaType?: string;
  manifests?: Descriptor[];
  config?: Descriptor;
  layers?: Descriptor[];
}

/** A blob's bytes go to its file this many at a time (the last write may be smaller). */
const WRITE_BYTES = 1024 * 1024;

/**
 * Passes a download's bytes on in pieces of at least `size` bytes (the last one whatever is
 * left), calling `seen` on each piece as it arrives. A response arrives in pieces of 16-64 KiB;
 * written as they came, a 10 MiB layer was some 640 writes, each a request to the thread pool
 * from the event loop: in the agent's CPU profile over 8 cold 10 MiB pulls, the event loop was
 * busy 2.5 s with them and 2.0 s with pieces of 1 MiB (its fs writes 301 ms and 104 ms), and
 * the pulls' p50 went from 233-325 ms to 188-241 in three alternating pairs at load 5-6.
 */
export function meteredPieces(seen: (chunk: Buffer) => void, size = WRITE_BYTES): Transform {
  let held: Buffer[] = [];
  let heldBytes = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen(chunk);
      held.push(chunk);
      heldBytes += chunk.length;
      if (heldBytes < size) return callback();
      const piece = Buffer.concat(held, heldBytes);
      held = [];
      heldBytes = 0;
      callback(null, piece);
    },
    flush(callback) {
      callback(null, heldBytes === 0 ? undefined : Buffer.concat(held, heldBytes));
    },
  });
}

/** The run settings in an OCI/Docker image config (`config` member). */
interface ImageConfigJson {
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Env?: string[] | null;
  WorkingDir?: string;
  User?: string;
  Volumes?: Record<string, unknown> | null;
}

interface ImageRecord {
  digest: string;
  layers: Array<{ digest: string; size: number }>;
  config: ImageRunConfig;
  lastUsed: number;
}

const INDEX_TYPES = new Set([
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
]);

/** This host's CPU in OCI's words (amd64, arm64), the platform its images are pulled for. */
export function architecture(): string {
  return process.arch === "x64" ? "amd64" : process.arch;
}

function splitDigest(digest: string): { algorithm: string; hex: string } {
  const match = /^(sha256|sha512):([a-f0-9]{64,128})$/.exec(digest);
  if (match === null)
    throw new BerthError("DigestInvalid", `unsupported or malformed digest ${digest}`);
  return { algorithm: match[1] as string, hex: match[2] as string };
}

export interface ImageStoreOptions {
  root: string;
  log: Logger;
  /**
   * Bytes of layers the cache may hold; after each pull, least recently used images that no
   * container uses are collected down to it (never the image just pulled). Default: no limit.
   */
  maxCacheBytes?: number;
}

export class ImageStore implements RootfsProvider {
  readonly #root: string;
  readonly #inflight = new Map<string, Promise<void>>();
  #lastStamp = 0;
  /**
   * Images' last uses not yet on disk: a launch's use is written with the others of the next
   * second (`#flushUses`), not twice per launch on the event loop, and read back from here in
   * the meantime (`#readImage`), so the collection's least-recently-used order is exact. An
   * agent killed within that second loses only that much of the order.
   */
  readonly #uses = new Map<string, number>();
  #flushing: NodeJS.Timeout | undefined;
  /** Layers (hex) of pulls under way, which collection must not remove. */
  readonly #pinned = new Map<string, number>();
  #guarded: Promise<void> | undefined;
  #ownRegistry: OwnRegistry | undefined;

  constructor(private readonly options: ImageStoreOptions) {
    this.#root = options.root;
    for (const dir of ["blobs/sha256", "blobs/sha512", "snapshots", "images", "mounts"])
      mkdirSync(join(this.#root, dir), { recursive: true, mode: PRIVATE_DIR });
  }

  /** Berth's own registry, as the server named it (see own-registry.ts). */
  useOwnRegistry(own: OwnRegistry): void {
    this.#ownRegistry = own;
  }

  /** Mounts the snapshots directory nosuid,nodev over itself, once (see the header). */
  #guardSnapshots(): Promise<void> {
    const dir = join(this.#root, "snapshots");
    this.#guarded ??= (async () => {
      if (!isMounted(dir)) await runCommand("mount", ["--bind", "-o", "nosuid,nodev", dir, dir]);
    })().catch((error: unknown) => {
      this.#guarded = undefined;
      throw new BerthError(
        "SnapshotMountFailed",
        `could not mount ${dir} nosuid,nodev: ${(error as Error).message}`,
        { fault: "server", cause: error },
      );
    });
    return this.#guarded;
  }

  /**
   * Unmounts the snapshots directory's guard (lazily when an overlay still uses it), so that
   * the store's directory can be deleted. For purging a host and for tests.
   */
  async unmountSnapshots(): Promise<void> {
    const dir = join(this.#root, "snapshots");
    this.#guarded = undefined;
    while (isMounted(dir)) await runCommand("umount", ["-l", dir]);
  }

  /** A strictly increasing use time, so that uses within one millisecond still order. */
  #stamp(): number {
    this.#lastStamp = Math.max(Date.now(), this.#lastStamp + 1);
    return this.#lastStamp;
  }

  #blobPath(digest: string): string {
    const { algorithm, hex } = splitDigest(digest);
    return join(this.#root, "blobs", algorithm, hex);
  }

  #snapshotPath(digest: string): string {
    return join(this.#root, "snapshots", splitDigest(digest).hex);
  }

  #imagePath(digest: string): string {
    return join(this.#root, "images", `${splitDigest(digest).hex}.json`);
  }

  async pull(text: string, options: PullOptions = {}): Promise<PulledImage> {
    const reference = parseReference(text);
    const wanted = reference.digest ?? reference.tag ?? "latest";
    await this.#guardSnapshots();
    const own = this.#ownRegistry?.names.includes(reference.registry)
      ? this.#ownRegistry
      : undefined;
    const client = new RegistryClient(reference, options.credentials, own);
    // An image pinned by digest and already here needs no registry, unless the caller's right
    // to it must be shown (one manifest request; the layers stay cached).
    if (reference.digest !== undefined && existsSync(this.#imagePath(reference.digest))) {
      const cached = this.#readImage(reference.digest);
      if (
        cached !== undefined &&
        cached.layers.every((l) => existsSync(this.#snapshotPath(l.digest)))
      ) {
        if (options.recheck === true) await this.#manifest(client, reference.digest);
        return this.#used(cached);
      }
    }
    let { digest, manifest } = await this.#manifest(client, wanted);
    if (
      (manifest.mediaType !== undefined && INDEX_TYPES.has(manifest.mediaType)) ||
      manifest.manifests !== undefined
    ) {
      const chosen = (manifest.manifests ?? []).find(
        (m) =>
          (m.platform?.os ?? "linux") === "linux" &&
          (m.platform?.architecture ?? architecture()) === architecture(),
      );
      if (chosen === undefined)
        throw new BerthError(
          "ImagePlatformMissing",
          `${text} has no linux/${architecture()} image`,
        );
      ({ digest, manifest } = await this.#manifest(client, chosen.digest));
    }
    const cached = this.#readImage(digest);
    if (
      cached !== undefined &&
      cached.layers.every((l) => existsSync(this.#snapshotPath(l.digest)))
    )
      return this.#used(cached);
    if (manifest.config === undefined || manifest.layers === undefined)
      throw new BerthError("ManifestInvalid", `${text}: the manifest has no config or layers`);

    await this.#fetchBlob(client, manifest.config);
    const config = JSON.parse(await readFile(this.#blobPath(manifest.config.digest), "utf8")) as {
      config?: ImageConfigJson;
    };
    const layers = manifest.layers;
    // Pinned until the image record is written, so a collection meanwhile keeps its layers.
    const pins = layers.map((l) => splitDigest(l.digest).hex);
    for (const hex of pins) this.#pinned.set(hex, (this.#pinned.get(hex) ?? 0) + 1);
    let runConfig: ImageRunConfig;
    try {
      runConfig = await this.#fetchLayers(client, layers, config.config, digest, options);
    } finally {
      for (const hex of pins) {
        const count = (this.#pinned.get(hex) ?? 1) - 1;
        if (count > 0) this.#pinned.set(hex, count);
        else this.#pinned.delete(hex);
      }
    }
    if (this.options.maxCacheBytes !== undefined)
      this.collect(this.options.maxCacheBytes, [digest]);
    return { digest, config: runConfig };
  }

  async #fetchLayers(
    client: RegistryClient,
    layers: Descriptor[],
    config: ImageConfigJson | undefined,
    digest: string,
    options: PullOptions,
  ): Promise<ImageRunConfig> {
    const total = layers.reduce((sum, layer) => sum + layer.size, 0);
    let done = 0;
    await Promise.all(
      layers.map((layer) =>
        this.#ensureLayer(client, layer, (bytes) => {
          done += bytes;
          options.onProgress?.(done, total);
        }),
      ),
    );
    const runConfig: ImageRunConfig = {
      ...(config?.Entrypoint ? { entrypoint: config.Entrypoint } : {}),
      ...(config?.Cmd ? { cmd: config.Cmd } : {}),
      ...(config?.Env ? { env: config.Env } : {}),
      ...(config?.WorkingDir ? { workingDir: config.WorkingDir } : {}),
      ...(config?.User ? { user: config.User } : {}),
      ...(config?.Volumes ? { volumes: Object.keys(config.Volumes) } : {}),
    };
    const record: ImageRecord = {
      digest,
      layers: layers.map((l) => ({ digest: l.digest, size: l.size })),
      config: runConfig,
      lastUsed: this.#stamp(),
    };
    writeFileSync(this.#imagePath(digest), JSON.stringify(record), { mode: PRIVATE_FILE });
    return runConfig;
  }

  #used(record: ImageRecord): PulledImage {
    record.lastUsed = this.#stamp();
    this.#uses.set(record.digest, record.lastUsed);
    if (this.#flushing === undefined)
      this.#flushing = setTimeout(() => this.#flushUses(), USES_FLUSH_MS).unref();
    return { digest: record.digest, config: record.config };
  }

  /** Writes the last uses kept since the last flush into their images' records. */
  #flushUses(): void {
    this.#flushing = undefined;
    for (const digest of [...this.#uses.keys()]) {
      // An image collected meanwhile has no record to write into (and gets none back).
      const record = this.#readImage(digest);
      this.#uses.delete(digest);
      if (record !== undefined)
        writeFileSync(this.#imagePath(digest), JSON.stringify(record), { mode: PRIVATE_FILE });
    }
  }

  #readImage(digest: string): ImageRecord | undefined {
    let record: ImageRecord;
    try {
      record = JSON.parse(readFileSync(this.#imagePath(digest), "utf8")) as ImageRecord;
    } catch {
      return undefined;
    }
    const used = this.#uses.get(digest);
    if (used !== undefined && used > record.lastUsed) record.lastUsed = used;
    return record;
  }

  async #manifest(
    client: RegistryClient,
    reference: string,
  ): Promise<{ digest: string; manifest: Manifest }> {
    const response = await client.get(`/manifests/${reference}`, MANIFEST_ACCEPT);
    const bytes = Buffer.from(await response.arrayBuffer());
    const given = reference.includes(":")
      ? reference
      : (response.headers.get("docker-content-digest") ?? undefined);
    const algorithm = given === undefined ? "sha256" : splitDigest(given).algorithm;
    const digest = `${algorithm}:${createHash(algorithm).update(bytes).digest("hex")}`;
    if (reference.includes(":") && digest !== reference)
      throw new BerthError("DigestMismatch", `manifest ${reference} arrived with digest ${digest}`);
    let manifest: Manifest;
    try {
      manifest = JSON.parse(bytes.toString("utf8")) as Manifest;
    } catch {
      throw new BerthError("ManifestInvalid", `manifest ${reference} is not JSON`);
    }
    manifest.mediaType ??= response.headers.get("content-type") ?? undefined;
    return { digest, manifest };
  }

  /** Downloads a blob unless present, hashing while streaming; only a verified blob is renamed in. */
  async #fetchBlob(
    client: RegistryClient,
    descriptor: Descriptor,
    onBytes?: (bytes: number) => void,
  ): Promise<void> {
    const path = this.#blobPath(descriptor.digest);
    if (existsSync(path)) {
      onBytes?.(descriptor.size);
      return;
    }
    const { algorithm } = splitDigest(descriptor.digest);
    const response = await client.get(`/blobs/${descriptor.digest}`);
    if (response.body === null)
      throw new BerthError("RegistryError", `blob ${descriptor.digest} had no body`);
    const hash = createHash(algorithm);
    // Unique per download: two pulls may fetch one config at once; each renames in the same bytes.
    const temp = `${path}.${randomUUID()}.partial`;
    const meter = meteredPieces((chunk) => {
      hash.update(chunk);
      onBytes?.(chunk.length);
    });
    try {
      await pipeline(
        Readable.fromWeb(response.body),
        meter,
        createWriteStream(temp, { mode: PRIVATE_FILE }),
      );
      const actual = `${algorithm}:${hash.digest("hex")}`;
      if (actual !== descriptor.digest)
        throw new BerthError(
          "DigestMismatch",
          `blob ${descriptor.digest} arrived with digest ${actual}`,
        );
      renameSync(temp, path);
    } finally {
      rmSync(temp, { force: true });
    }
  }

  /** One download and one unpack per layer, however many pulls want it at once. */
  #ensureLayer(
    client: RegistryClient,
    layer: Descriptor,
    onBytes: (bytes: number) => void,
  ): Promise<void> {
    const snapshot = this.#snapshotPath(layer.digest);
    if (existsSync(snapshot)) {
      onBytes(layer.size);
      return Promise.resolve();
    }
    const joined = this.#inflight.get(layer.digest);
    // Another pull is fetching this layer: count it as done when that pull has it.
    if (joined !== undefined) return joined.then(() => onBytes(layer.size));
    const pending = (async () => {
      await this.#fetchBlob(client, layer, onBytes);
      await unpackLayer(
        this.#blobPath(layer.digest),
        snapshot,
        layer.mediaType ?? "application/vnd.oci.image.layer.v1.tar+gzip",
      );
    })().finally(() => this.#inflight.delete(layer.digest));
    this.#inflight.set(layer.digest, pending);
    return pending;
  }

  async prepareRootfs(
    imageDigest: string,
    containerId: string,
    writableDir?: string,
  ): Promise<{ path: string }> {
    const record = this.#readImage(imageDigest);
    if (
      record === undefined ||
      !record.layers.every((l) => existsSync(this.#snapshotPath(l.digest)))
    )
      throw new BerthError("ImageNotPulled", `image ${imageDigest} is not on this host`);
    await this.#guardSnapshots();
    this.#used(record);
    const dir = join(this.#root, "mounts", containerId);
    const merged = join(dir, "merged");
    // A new container's mount point is not there yet: the mount table is read only for one
    // made before (a create tried again).
    if (existsSync(merged) && isMounted(merged)) return { path: merged };
    const writable = writableDir ?? dir;
    mkdirSync(merged, { recursive: true });
    for (const sub of ["upper", "work"]) mkdirSync(join(writable, sub), { recursive: true });
    // The upper dir is the container's "/" (overlay shows its mode): open to the container's
    // users, as Docker makes it (Berth's umask is 077).
    chmodSync(join(writable, "upper"), 0o755);
    // Relative lowerdirs (resolved from the snapshots dir) keep the option string short.
    const lower = [...record.layers]
      .reverse()
      .map((l) => splitDigest(l.digest).hex)
      .join(":");
    await runCommand(
      "mount",
      [
        "-t",
        "overlay",
        "overlay",
        "-o",
        `lowerdir=${lower},upperdir=${join(writable, "upper")},workdir=${join(writable, "work")}`,
        merged,
      ],
      {
        cwd: join(this.#root, "snapshots"),
      },
    );
    return { path: merged };
  }

  async releaseRootfs(containerId: string): Promise<void> {
    const dir = join(this.#root, "mounts", containerId);
    const merged = join(dir, "merged");
    if (isMounted(merged)) await runCommand("umount", [merged]);
    // Off the event loop: the rmdir of a mount point just unmounted can take milliseconds.
    await rm(dir, { recursive: true, force: true });
  }

  /**
   * Removes least recently used images no container uses until the cache holds at most
   * `maxBytes` of layers, then every blob and snapshot no remaining image references.
   */
  collect(maxBytes: number, keep: readonly string[] = []): { removedImages: number } {
    const images = readdirSync(join(this.#root, "images"))
      .map((file) => this.#readImage(`sha256:${file.replace(/\.json$/, "")}`))
      .filter((r): r is ImageRecord => r !== undefined)
      .sort((a, b) => a.lastUsed - b.lastUsed);
    const inUse = mountedLowerLayers(join(this.#root, "mounts"));
    let total = images.reduce((sum, r) => sum + r.layers.reduce((s, l) => s + l.size, 0), 0);
    let removedImages = 0;
    const kept: ImageRecord[] = [];
    for (const record of images) {
      const size = record.layers.reduce((s, l) => s + l.size, 0);
      const used =
        keep.includes(record.digest) ||
        record.layers.some((l) => inUse.has(splitDigest(l.digest).hex));
      if (total > maxBytes && !used) {
        rmSync(this.#imagePath(record.digest), { force: true });
        total -= size;
        removedImages++;
      } else kept.push(record);
    }
    const wanted = new Set(kept.flatMap((r) => r.layers.map((l) => splitDigest(l.digest).hex)));
    for (const hex of readdirSync(join(this.#root, "snapshots"))) {
      // Names with a dot are unpacks under way (`<hex>.unpacking`).
      if (!wanted.has(hex) && !inUse.has(hex) && !this.#pinned.has(hex) && !hex.includes(".")) {
        rmSync(join(this.#root, "snapshots", hex), { recursive: true, force: true });
        rmSync(join(this.#root, "blobs", "sha256", hex), { force: true });
      }
    }
    return { removedImages };
  }
}

/** How long an image's last use may wait in memory before its record is written. */
const USES_FLUSH_MS = 1_000;

function isMounted(path: string): boolean {
  return readFileSync("/proc/mounts", "utf8")
    .split("\n")
    .some((line) => line.split(" ")[1] === path);
}

/** Snapshot names (hex) that some mounted container overlay uses. */
function mountedLowerLayers(mountsDir: string): Set<string> {
  const used = new Set<string>();
  for (const line of readFileSync("/proc/mounts", "utf8").split("\n")) {
    const [, target, type, options] = line.split(" ");
    if (type !== "overlay" || !target?.startsWith(mountsDir)) continue;
    const lower = /lowerdir=([^,]+)/.exec(options ?? "")?.[1] ?? "";
    for (const part of lower.split(":")) used.add(part.split("/").pop() ?? part);
  }
  return used;
}
