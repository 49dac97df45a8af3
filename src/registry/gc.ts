/**
 * Garbage collection of blobs no manifest references, safe while pushes run: it never removes
 * a blob written or linked within the grace period (an upload about to be referenced by its
 * manifest), and it decides and deletes under the registry's exclusive lock, which every
 * manifest write and mount holds shared across its check and its commit. Upload sessions
 * nobody touched for a day are dropped too.
 *
 * With several servers on one blob directory, GC is the leader's: given the lease's fence, each
 * chunk of deletes runs in a transaction that first proves this server still leads in its epoch
 * (and holds the lease row until the chunk is done), so a deposed leader deletes nothing.
 */
import type { Transaction } from "kysely";
import type { Clock } from "../core/index.js";
import type { Database, Store } from "../store/index.js";
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

/**
 * Called first in each transaction of deletes (the control plane lease's `fence`): throws, and so
 * rolls back, when this server no longer leads.
 */
export type MaintenanceFence = (trx: Transaction<Database>) => Promise<void>;

/** Blobs removed per fenced transaction. */
const SWEEP_CHUNK = 100;

export interface GcResult {
  removedBlobs: string[];
  purgedUploads: number;
}

export async function collectGarbage(
  registry: GcTarget,
  {
    graceMs,
    uploadMaxAgeMs,
    fence,
  }: { graceMs: number; uploadMaxAgeMs: number; fence?: MaintenanceFence },
): Promise<GcResult> {
  const now = registry.clock.now();
  const store = registry.metadata.store;
  // Unfenced (one server, or an operator's POST /v2/_berth/gc), no transaction is held.
  const fenced = <T>(body: (db: Store) => Promise<T>): Promise<T> =>
    fence === undefined
      ? body(store)
      : store.transaction().execute(async (trx) => {
          await fence(trx);
          return body(trx);
        });
  const purgedUploads = await fenced(() => registry.uploads.purgeStale(now, uploadMaxAgeMs));
  // Mark outside the lock (it walks the disk); sweep inside, re-checking each candidate.
  const candidates: string[] = [];
  for await (const digest of registry.blobs.list()) {
    const info = await registry.blobs.stat(digest);
    if (info !== undefined && now.getTime() - info.modifiedAt >= graceMs) candidates.push(digest);
  }
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
    // A set, not a list: a chunk's transaction may run again (PostgreSQL's serialization
    // retries), and a blob removed by its first run is already gone.
    const removed = new Set<string>();
    const dead = candidates.filter((digest) => !live.has(digest));
    for (let i = 0; i < dead.length; i += SWEEP_CHUNK) {
      await fenced(async (db) => {
        for (const digest of dead.slice(i, i + SWEEP_CHUNK)) {
          const info = await registry.blobs.stat(digest);
          if (info !== undefined && now.getTime() - info.modifiedAt < graceMs) continue;
          await db.deleteFrom("registry_blob_links").where("digest", "=", digest).execute();
          if (info === undefined) continue;
          await registry.blobs.remove(digest);
          removed.add(digest);
        }
      });
    }
    return [...removed];
  });
  return { removedBlobs, purgedUploads };
}
