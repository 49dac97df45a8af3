/**
 * The registry's operations, shared by the OCI HTTP API and the ECR API: repositories, blob
 * uploads and mounts, manifests and tags, lifecycle policies and garbage collection. The HTTP
 * edge (http-api.ts) and services/ecr only translate to and from their wire forms.
 */
import { createHash } from "node:crypto";
import { open, rm } from "node:fs/promises";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import type { Readable } from "node:stream";
import type { CredentialLookup } from "../aws/index.js";
import {
  arn,
  hasCode,
  PRIVATE_FILE,
  type Clock,
  type Identity,
  type Logger,
} from "../core/index.js";
import type { Store } from "../store/index.js";
import { BlobStore } from "./blob-store.js";
import {
  blobUnknown,
  digestInvalid,
  manifestUnknown,
  nameUnknown,
  RegistryError,
} from "./errors.js";
import { collectGarbage, type GcResult, type MaintenanceFence } from "./gc.js";
import { evaluateLifecycle, parseLifecyclePolicy, type Expiry } from "./lifecycle.js";
import { ReadWriteLock } from "./lock.js";
import {
  DOCKER_LIST,
  DOCKER_MANIFEST,
  indexEntries,
  OCI_INDEX,
  OCI_MANIFEST,
  parseManifest,
} from "./manifests.js";
import {
  RegistryMetadata,
  toRepository,
  type ImageRecord,
  type RepositoryRecord,
  type RepositorySettings,
  type TagMutability,
} from "./metadata.js";
import { isDigest, isTag, parseDigest } from "./names.js";
import { tagIsImmutable } from "./tag-mutability.js";
import { UploadSessions } from "./uploads.js";

export interface RegistryOptions {
  /** `<dataDir>/registry`. */
  root: string;
  store: Store;
  identity: Identity;
  clock: Clock;
  log: Logger;
  credentials: CredentialLookup;
  /** Create a repository on first push instead of answering NAME_UNKNOWN. */
  autoCreate?: boolean;
  maxConcurrentWrites?: number;
  /** Blobs linked or written this recently are never collected. */
  gcGraceMs?: number;
  /** How often GC and lifecycle policies run by themselves; 0 turns the timer off. */
  gcIntervalMs?: number;
  /**
   * Maintenance is the control plane leader's (several servers may share the blob directory):
   * on demand GC runs only while `startMaintenance` has given this registry the lease's fence.
   */
  maintainedByLeader?: boolean;
}

export interface StoredManifest {
  digest: string;
  mediaType: string;
  bytes: Buffer;
}

export interface BlobLocation {
  digest: string;
  size: number;
}

const MINUTE = 60_000;
/** Untagged images this young are spared by after-push lifecycle runs (see applyLifecycle). */
const AFTER_PUSH_GRACE_MS = MINUTE;

export class Registry {
  readonly blobs: BlobStore;
  readonly uploads: UploadSessions;
  readonly metadata: RegistryMetadata;
  readonly lock = new ReadWriteLock();
  readonly registryId: string;
  #timer: NodeJS.Timeout | undefined;
  #background: Promise<unknown> = Promise.resolve();
  /** The lease's fence while this server leads maintenance (see `maintainedByLeader`). */
  #fence: MaintenanceFence | undefined;

  constructor(readonly options: RegistryOptions) {
    this.blobs = new BlobStore(options.root);
    this.uploads = new UploadSessions(this.blobs, {
      maxConcurrentWrites: options.maxConcurrentWrites ?? 512,
    });
    this.metadata = new RegistryMetadata(options.store);
    this.registryId = options.identity.accountId;
  }

  get clock(): Clock {
    return this.options.clock;
  }

  async start(): Promise<void> {
    await this.blobs.init();
  }

  /**
   * Runs lifecycle policies and GC every `gcIntervalMs`. Only one server may do it on a blob
   * directory several servers share: the one holding the control plane's lease calls this,
   * with the lease's fence, which every delete of the pass runs first.
   */
  startMaintenance(fence?: MaintenanceFence): void {
    this.#fence = fence;
    const every = this.options.gcIntervalMs ?? 60 * MINUTE;
    if (every <= 0 || this.#timer !== undefined) return;
    this.#timer = setInterval(() => {
      this.#background = this.maintain(fence).catch((error: unknown) =>
        this.options.log.warn("registry maintenance failed", { error: String(error) }),
      );
    }, every);
    this.#timer.unref();
  }

  async stopMaintenance(): Promise<void> {
    this.#fence = undefined;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#background;
  }

  async stop(): Promise<void> {
    await this.stopMaintenance();
  }

  /** The timer's work: every lifecycle policy, then garbage collection. */
  async maintain(fence?: MaintenanceFence): Promise<GcResult> {
    for (const repository of await this.metadata.repositories()) {
      if (repository.lifecyclePolicy !== undefined)
        await this.applyLifecycle(repository.name, { sinceMs: AFTER_PUSH_GRACE_MS, fence });
    }
    return this.collectGarbage(fence);
  }

  // Repositories ---------------------------------------------------------------------------

  repositoryArn(name: string): string {
    return arn(this.options.identity, "ecr", `repository/${name}`);
  }

  /** Creates a repository; undefined when one of that name exists. */
  async createRepository(
    name: string,
    tagMutability: TagMutability,
    settings: RepositorySettings,
  ): Promise<RepositoryRecord | undefined> {
    const row = {
      name,
      arn: this.repositoryArn(name),
      created_at: this.clock.now().getTime(),
      tag_mutability: tagMutability,
      document: JSON.stringify(settings),
      lifecycle_policy: null,
      lifecycle_evaluated_at: null,
      lifecycle_preview: null,
    };
    const result = await this.options.store
      .insertInto("registry_repositories")
      .values(row)
      .onConflict((oc) => oc.column("name").doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0 ? toRepository(row) : undefined;
  }

  /** For the OCI API: the repository, created on push when auto-create is on; else NAME_UNKNOWN. */
  async requireRepository(name: string, forPush = false): Promise<RepositoryRecord> {
    const found = await this.metadata.repository(name);
    if (found !== undefined) return found;
    if (forPush && this.options.autoCreate === true) {
      await this.createRepository(name, "MUTABLE", {
        imageScanningConfiguration: { scanOnPush: false },
        encryptionConfiguration: { encryptionType: "AES256" },
      });
      const created = await this.metadata.repository(name);
      if (created !== undefined) return created;
    }
    throw nameUnknown(name, this.registryId);
  }

  /** Deletes a repository and everything in it; its blobs go at the next GC. */
  async deleteRepository(name: string): Promise<void> {
    await this.options.store.transaction().execute(async (tx) => {
      for (const table of [
        "registry_tags",
        "registry_manifest_refs",
        "registry_manifests",
        "registry_blob_links",
      ] as const)
        await tx.deleteFrom(table).where("repository", "=", name).execute();
      await tx.deleteFrom("registry_repositories").where("name", "=", name).execute();
    });
  }

  async updateRepository(
    name: string,
    changes: {
      tagMutability?: TagMutability;
      /** Replaces the settings document in the same write (mutability with its filters). */
      settings?: RepositorySettings;
      lifecyclePolicy?: string | null;
      lifecyclePreview?: string | null;
    },
  ): Promise<void> {
    await this.options.store
      .updateTable("registry_repositories")
      .set({
        ...(changes.tagMutability === undefined ? {} : { tag_mutability: changes.tagMutability }),
        ...(changes.settings === undefined ? {} : { document: JSON.stringify(changes.settings) }),
        ...(changes.lifecyclePolicy === undefined
          ? {}
          : { lifecycle_policy: changes.lifecyclePolicy, lifecycle_evaluated_at: null }),
        ...(changes.lifecyclePreview === undefined
          ? {}
          : { lifecycle_preview: changes.lifecyclePreview }),
      })
      .where("name", "=", name)
      .execute();
  }

  /** Replaces the repository's settings document (scanning, encryption, policy). */
  async updateSettings(name: string, settings: RepositorySettings): Promise<void> {
    await this.options.store
      .updateTable("registry_repositories")
      .set({ document: JSON.stringify(settings) })
      .where("name", "=", name)
      .execute();
  }

  // Blobs ------------------------------------------------------------------------------------

  /** A blob the repository may serve, with its size; BLOB_UNKNOWN otherwise. */
  async locateBlob(repository: string, digest: string): Promise<BlobLocation> {
    parseDigest(digest);
    if (!(await this.metadata.blobVisible(repository, digest))) throw blobUnknown(digest);
    const info = await this.blobs.stat(digest);
    if (info === undefined) throw blobUnknown(digest);
    return { digest, size: info.size };
  }

  async deleteBlob(repository: string, digest: string): Promise<void> {
    parseDigest(digest);
    if (!(await this.metadata.unlinkBlob(repository, digest))) throw blobUnknown(digest);
  }

  async uploadMonolithic(repository: string, digest: string, body: Readable): Promise<number> {
    const size = await this.uploads.monolithic(body, digest);
    await this.metadata.linkBlob(repository, digest, size, this.clock.now());
    return size;
  }

  async completeUpload(
    repository: string,
    id: string,
    digest: string,
    body: Readable | undefined,
  ): Promise<number> {
    const size = await this.uploads.complete(repository, id, digest, body);
    await this.metadata.linkBlob(repository, digest, size, this.clock.now());
    return size;
  }

  /** Cross-repository mount; false when `from` cannot serve the blob (then the client uploads). */
  async mountBlob(repository: string, digest: string, from: string): Promise<boolean> {
    if (!isDigest(digest)) return false;
    return this.lock.shared(async () => {
      if (!(await this.metadata.blobVisible(from, digest))) return false;
      const info = await this.blobs.stat(digest);
      if (info === undefined) return false;
      await this.metadata.linkBlob(repository, digest, info.size, this.clock.now());
      return true;
    });
  }

  // Manifests --------------------------------------------------------------------------------

  /**
   * Stores a manifest under a tag or its digest. It is stored only if it parses and everything
   * it references is in the repository; an IMMUTABLE repository refuses to move a tag.
   */
  async putManifest(
    repository: string,
    reference: string,
    bytes: Buffer,
    contentType: string | undefined,
  ): Promise<{ digest: string; subject?: string }> {
    const repo = await this.requireRepository(repository, true);
    const byDigest = reference.includes(":");
    if (!byDigest && !isTag(reference))
      throw new RegistryError("MANIFEST_INVALID", "invalid tag", { tag: reference });
    const algorithm = byDigest ? parseDigest(reference).algorithm : "sha256";
    const digest = `${algorithm}:${createHash(algorithm).update(bytes).digest("hex")}`;
    if (byDigest && digest !== reference)
      throw digestInvalid("manifest digest did not match the reference", {
        expected: reference,
        actual: digest,
      });
    const manifest = parseManifest(bytes, contentType);
    const now = this.clock.now();
    await this.lock.shared(async () => {
      const missingBlobs = await this.metadata.missingBlobs(
        repository,
        manifest.blobs.map((b) => b.digest),
      );
      const missingManifests = await this.metadata.missingManifests(
        repository,
        manifest.manifests.map((m) => m.digest),
      );
      const missing = [...missingBlobs, ...missingManifests][0];
      if (missing !== undefined)
        throw new RegistryError("MANIFEST_BLOB_UNKNOWN", "blob unknown to registry", {
          digest: missing,
        });
      if (
        !byDigest &&
        tagIsImmutable(
          repo.tagMutability,
          repo.settings.imageTagMutabilityExclusionFilters ?? [],
          reference,
        )
      ) {
        const current = await this.metadata.tagDigest(repository, reference);
        if (current !== undefined && current !== digest)
          throw new RegistryError(
            "TAG_INVALID",
            `The image tag '${reference}' already exists in the '${repository}' repository and cannot be overwritten because the repository is immutable.`,
          );
      }
      await this.#storeBytes(digest, bytes);
      let imageSize = manifest.imageSize;
      if (manifest.manifests.length > 0) {
        // ECR: an index's size is the largest of its images'.
        const children = await this.options.store
          .selectFrom("registry_manifests")
          .select("image_size")
          .where("repository", "=", repository)
          .where(
            "digest",
            "in",
            manifest.manifests.map((m) => m.digest),
          )
          .execute();
        imageSize = Math.max(0, ...children.map((c) => Number(c.image_size)));
      }
      await this.options.store.transaction().execute(async (tx) => {
        await tx
          .insertInto("registry_manifests")
          .values({
            repository,
            digest,
            media_type: manifest.mediaType,
            artifact_type: manifest.artifactType ?? null,
            size: bytes.length,
            image_size: imageSize,
            subject: manifest.subject ?? null,
            annotations:
              manifest.annotations === undefined ? null : JSON.stringify(manifest.annotations),
            pushed_at: now.getTime(),
            last_pulled_at: null,
          })
          .onConflict((oc) => oc.columns(["repository", "digest"]).doNothing())
          .execute();
        const children = [...manifest.blobs, ...manifest.manifests].map((d) => d.digest);
        for (const child of new Set(children))
          await tx
            .insertInto("registry_manifest_refs")
            .values({ repository, manifest: digest, child })
            .onConflict((oc) => oc.doNothing())
            .execute();
        if (!byDigest)
          await tx
            .insertInto("registry_tags")
            .values({ repository, tag: reference, digest, updated_at: now.getTime() })
            .onConflict((oc) =>
              oc.columns(["repository", "tag"]).doUpdateSet({ digest, updated_at: now.getTime() }),
            )
            .execute();
      });
    });
    if (repo.lifecyclePolicy !== undefined)
      // ECR applies lifecycle policies within 24 hours; Berth applies them right after each push.
      await this.applyLifecycle(repository, { sinceMs: AFTER_PUSH_GRACE_MS });
    return { digest, subject: manifest.subject };
  }

  /** Writes manifest bytes into the blob store the same careful way as any blob. */
  async #storeBytes(digest: string, bytes: Buffer): Promise<void> {
    if ((await this.blobs.stat(digest)) !== undefined) {
      await this.blobs.touch(digest, this.clock.now());
      return;
    }
    const temp = join(this.blobs.tmpDir, randomUUID());
    const handle = await open(temp, "wx", PRIVATE_FILE);
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await this.blobs.commit(temp, digest);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
  }

  /** The digest a tag or digest reference names in the repository; MANIFEST_UNKNOWN otherwise. */
  async resolve(repository: string, reference: string): Promise<string> {
    if (reference.includes(":")) {
      parseDigest(reference);
      if ((await this.metadata.image(repository, reference)) === undefined)
        throw manifestUnknown(reference);
      return reference;
    }
    // No manifest can have a tag that is not one: the spec (and its conformance suite) wants 404.
    if (!isTag(reference)) throw manifestUnknown(reference);
    const digest = await this.metadata.tagDigest(repository, reference);
    if (digest === undefined) throw manifestUnknown(reference);
    return digest;
  }

  /**
   * A manifest, negotiated against `accept` (media types without parameters): an index or list
   * the client cannot take is answered with its linux/amd64 image when the client takes that.
   */
  async getManifest(
    repository: string,
    reference: string,
    accept: string[],
  ): Promise<StoredManifest> {
    await this.requireRepository(repository);
    const digest = await this.resolve(repository, reference);
    const image = await this.metadata.image(repository, digest);
    if (image === undefined) throw manifestUnknown(reference);
    const bytes = await this.blobs.read(digest).catch(() => {
      throw manifestUnknown(reference);
    });
    const acceptable = (type: string): boolean =>
      accept.length === 0 || accept.includes(type) || accept.includes("*/*");
    if (
      !acceptable(image.mediaType) &&
      (image.mediaType === OCI_INDEX || image.mediaType === DOCKER_LIST) &&
      !reference.includes(":")
    ) {
      const wanted = image.mediaType === OCI_INDEX ? OCI_MANIFEST : DOCKER_MANIFEST;
      const entries = indexEntries(bytes).filter((e) => acceptable(e.mediaType));
      const pick =
        entries.find((e) => e.platform?.os === "linux" && e.platform.architecture === "amd64") ??
        entries.find((e) => e.mediaType === wanted);
      if (pick !== undefined) return this.getManifest(repository, pick.digest, accept);
    }
    return { digest, mediaType: image.mediaType, bytes };
  }

  /** Removes a manifest and its tags (only while `fence` passes, when given). */
  async deleteManifest(
    repository: string,
    digest: string,
    fence?: MaintenanceFence,
  ): Promise<void> {
    await this.options.store.transaction().execute(async (tx) => {
      await fence?.(tx);
      const removed = await tx
        .deleteFrom("registry_manifests")
        .where("repository", "=", repository)
        .where("digest", "=", digest)
        .executeTakeFirst();
      if (Number(removed.numDeletedRows) === 0) throw manifestUnknown(digest);
      await tx
        .deleteFrom("registry_tags")
        .where("repository", "=", repository)
        .where("digest", "=", digest)
        .execute();
      await tx
        .deleteFrom("registry_manifest_refs")
        .where("repository", "=", repository)
        .where("manifest", "=", digest)
        .execute();
    });
  }

  async deleteTag(repository: string, tag: string): Promise<void> {
    const removed = await this.options.store
      .deleteFrom("registry_tags")
      .where("repository", "=", repository)
      .where("tag", "=", tag)
      .executeTakeFirst();
    if (Number(removed.numDeletedRows) === 0) throw manifestUnknown(tag);
  }

  // Lifecycle and GC -------------------------------------------------------------------------

  /** What the repository's policy (or `policyText`) would expire now. */
  async previewLifecycle(repository: string, policyText: string): Promise<Expiry[]> {
    const policy = parseLifecyclePolicy(policyText);
    return evaluateLifecycle(policy, await this.metadata.images(repository), this.clock.now());
  }

  /**
   * Applies the repository's lifecycle policy: deletes exactly the images it expires. Runs when
   * a policy is put (immediately, `sinceMs` 0), after every push and on the maintenance timer.
   * Those last two spare untagged images younger than `sinceMs`: a multi-platform push sends
   * its untagged images before the index that will reference them. The timer's run is the
   * leader's, fenced: a deposed leader's deletes roll back and the run ends there.
   */
  async applyLifecycle(
    repository: string,
    { sinceMs = 0, fence }: { sinceMs?: number; fence?: MaintenanceFence } = {},
  ): Promise<Expiry[]> {
    const repo = await this.metadata.repository(repository);
    if (repo?.lifecyclePolicy === undefined) return [];
    const now = this.clock.now();
    const images = (await this.metadata.images(repository)).filter(
      (image) => image.tags.length > 0 || now.getTime() - image.pushedAt.getTime() >= sinceMs,
    );
    const expired = evaluateLifecycle(parseLifecyclePolicy(repo.lifecyclePolicy), images, now);
    for (const { image } of expired) {
      // Deleted meanwhile (by hand, or by another run) is done; anything else ends the run.
      await this.deleteManifest(repository, image.digest, fence).catch((error: unknown) => {
        if (!(error instanceof RegistryError && error.code === "MANIFEST_UNKNOWN")) throw error;
      });
    }
    await this.options.store.transaction().execute(async (tx) => {
      await fence?.(tx);
      await tx
        .updateTable("registry_repositories")
        .set({ lifecycle_evaluated_at: now.getTime() })
        .where("name", "=", repository)
        .execute();
    });
    if (expired.length > 0)
      this.options.log.info("lifecycle policy expired images", {
        repository,
        digests: expired.map((e) => e.image.digest),
      });
    return expired;
  }

  /**
   * `POST /v2/_berth/gc`: GC now, fenced as the timer's runs are. A server that does not lead
   * maintenance refuses (503), as does a leader deposed during the run: its deletes were refused.
   */
  async collectGarbageOnDemand(): Promise<GcResult> {
    const refused = (): RegistryError =>
      new RegistryError(
        "UNSUPPORTED",
        "garbage collection runs on the server that leads the control plane, and this server does not lead it now: send the request to another server",
        undefined,
        503,
      );
    if (this.options.maintainedByLeader === true && this.#fence === undefined) throw refused();
    try {
      return await this.collectGarbage(this.#fence);
    } catch (error) {
      if (hasCode(error, "LeaseLost")) throw refused();
      throw error;
    }
  }

  async collectGarbage(fence?: MaintenanceFence): Promise<GcResult> {
    return collectGarbage(this, {
      graceMs: this.options.gcGraceMs ?? 10 * MINUTE,
      uploadMaxAgeMs: 24 * 60 * MINUTE, // upload sessions untouched this long are dropped
      fence,
    });
  }

  async images(repository: string): Promise<ImageRecord[]> {
    return this.metadata.images(repository);
  }
}
