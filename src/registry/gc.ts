/**
 * Garbage collection of blobs no manifest references, safe while pushes run: it never removes
 * a blob written or linked within the grace period (an upload about to be referenced by its
 * manifest), and it decides and deletes under the registry's exclusive lock, which every
 * manifest write and mount holds shared across its check and its commit. Upload sessions
 * nobody touched for a day are dropped too.
 */
import type { Clock } from "../core/index.js";
import type { BlobStore } from "./blob-store.js";
import type { ReadWriteLock } from "./lock.js";
import type { RegistryMetadata } from "./metadata.js";
import type { UploadSessions } from "./uploads.js";

/** What GC needs of the registry. */
export interface GcTarget {
  clock: Clock;
  blobs: BlobStore;
  uploads: UploadSessions;
  metadata: RegistryMetadata;
  lock: ReadWriteLock;
}

export interface GcResult {
  removedBlobs: string[];
  purgedUploads: number;
}

export async function collectGarbage(
  registry: GcTarget,
  { graceMs, uploadMaxAgeMs }: { graceMs: number; uploadMaxAgeMs: number },
): Promise<GcResult> {
  const now = registry.clock.now();
  const purgedUploads = await registry.uploads.purgeStale(now, uploadMaxAgeMs);
  // Mark outside the lock (it walks the disk); sweep inside, re-checking each candidate.
  const candidates: string[] = [];
  for await (const digest of registry.blobs.list()) {
    const info = await registry.blobs.stat(digest);
    if (info !== undefined && now.getTime() - info.modifiedAt >= graceMs) candidates.push(digest);
  }
  const store = registry.metadata.store;
  const removedBlobs = await registry.lock.exclusive(async () => {
    const [manifests, refs, links] = await Promise.all([
      store.selectFrom("registry_manifests").select("digest").execute(),
      store.selectFrom("registry_manifest_refs").select("child").execute(),
      store
        .selectFrom("registry_blob_links")
        .select("digest")
        .where("linked_at", ">", now.getTime() - graceMs)
        .execute(),
    ]);
    const live = new Set([
      ...manifests.map((m) => m.digest),
      ...refs.map((r) => r.child),
      ...links.map((l) => l.digest),
    ]);
    const removed: string[] = [];
    for (const digest of candidates) {
      if (live.has(digest)) continue;
      const info = await registry.blobs.stat(digest);
      if (info === undefined || now.getTime() - info.modifiedAt < graceMs) continue;
      await registry.blobs.remove(digest);
      await store.deleteFrom("registry_blob_links").where("digest", "=", digest).execute();
      removed.push(digest);
    }
    return removed;
  });
  return { removedBlobs, purgedUploads };
}
