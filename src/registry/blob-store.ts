/**
 * Content-addressed blobs on disk, shared by every repository (so each layer is stored once):
 * `<root>/blobs/<algorithm>/<2 hex>/<hex>`. A blob becomes visible only by an atomic rename of
 * a file that was fsynced after its digest was checked, so a reader never sees a partial or
 * wrong blob, and two writers of the same blob both succeed (the second rename replaces
 * identical bytes).
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, open, readdir, rename, rm, stat, utimes } from "node:fs/promises";
import { join } from "node:path";
import { PRIVATE_DIR } from "../core/index.js";
import { parseDigest, type DigestAlgorithm } from "./names.js";

export interface BlobInfo {
  size: number;
  modifiedAt: number;
}

export class BlobStore {
  readonly blobsDir: string;
  readonly uploadsDir: string;
  readonly tmpDir: string;

  constructor(readonly root: string) {
    this.blobsDir = join(root, "blobs");
    this.uploadsDir = join(root, "uploads");
    this.tmpDir = join(root, "tmp");
  }

  async init(): Promise<void> {
    await mkdir(this.blobsDir, { recursive: true, mode: PRIVATE_DIR });
    await mkdir(this.uploadsDir, { recursive: true, mode: PRIVATE_DIR });
    // Leftovers of monolithic uploads cut off by a crash: never visible, safe to drop.
    await rm(this.tmpDir, { recursive: true, force: true });
    await mkdir(this.tmpDir, { recursive: true, mode: PRIVATE_DIR });
  }

  path(digest: string): string {
    const { algorithm, hex } = parseDigest(digest);
    return join(this.blobsDir, algorithm, hex.slice(0, 2), hex);
  }

  async stat(digest: string): Promise<BlobInfo | undefined> {
    try {
      const info = await stat(this.path(digest));
      return { size: info.size, modifiedAt: info.mtimeMs };
    } catch {
      return undefined;
    }
  }

  /**
   * Makes an fsynced, verified file the blob `digest`. The rename is atomic; the directory is
   * fsynced so the name survives a power cut too.
   */
  async commit(verifiedFile: string, digest: string): Promise<void> {
    const target = this.path(digest);
    const dir = join(target, "..");
    await mkdir(dir, { recursive: true, mode: PRIVATE_DIR });
    await rename(verifiedFile, target);
    const handle = await open(dir, "r");
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  /** Refreshes a blob's mtime, so GC's grace period covers a blob just deduplicated. */
  async touch(digest: string, at: Date): Promise<void> {
    await utimes(this.path(digest), at, at).catch(() => undefined);
  }

  async remove(digest: string): Promise<void> {
    await rm(this.path(digest), { force: true });
  }

  async read(digest: string): Promise<Buffer> {
    const handle = await open(this.path(digest), "r");
    try {
      return await handle.readFile();
    } finally {
      await handle.close();
    }
  }

  /** Every blob on disk, for garbage collection. */
  async *list(): AsyncGenerator<string> {
    for (const algorithm of await readdir(this.blobsDir).catch(() => [])) {
      for (const prefix of await readdir(join(this.blobsDir, algorithm)).catch(() => [])) {
        for (const hex of await readdir(join(this.blobsDir, algorithm, prefix)).catch(() => [])) {
          yield `${algorithm}:${hex}`;
        }
      }
    }
  }
}

/** Hashes a file from disk: only when the streaming hash was lost (a restart, a cut chunk). */
export async function hashFile(path: string, algorithm: DigestAlgorithm): Promise<string> {
  const hash = createHash(algorithm);
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 }))
    hash.update(chunk as Buffer);
  return `${algorithm}:${hash.digest("hex")}`;
}
