/**
 * What the registry knows beyond bytes, in the store: repositories, the manifests each holds,
 * tags, what each manifest references, and which blobs each repository may serve. Blob bytes
 * and their existence stay on disk (BlobStore); these rows never claim a blob the disk lacks
 * for long, because manifests are only written after their blobs were checked.
 */
import type { Store, RegistryManifestTable, RegistryRepositoryTable } from "../store/index.js";
import {
  isTagMutability,
  type TagMutability,
  type TagMutabilityExclusionFilter,
} from "./tag-mutability.js";

export type { TagMutability, TagMutabilityExclusionFilter };

export interface RepositorySettings {
  imageScanningConfiguration?: { scanOnPush?: boolean };
  encryptionConfiguration?: { encryptionType: string; kmsKey?: string };
  /** The tags the mutability setting does not apply to (the *_WITH_EXCLUSION settings). */
  imageTagMutabilityExclusionFilters?: TagMutabilityExclusionFilter[];
  /** The repository policy text, kept as SetRepositoryPolicy took it. */
  repositoryPolicy?: string;
}

export interface RepositoryRecord {
  name: string;
  arn: string;
  createdAt: Date;
  tagMutability: TagMutability;
  settings: RepositorySettings;
  lifecyclePolicy?: string;
  lifecycleEvaluatedAt?: Date;
  lifecyclePreview?: string;
}

export interface ImageRecord {
  repository: string;
  digest: string;
  mediaType: string;
  artifactType?: string;
  manifestSize: number;
  imageSize: number;
  subject?: string;
  annotations?: Record<string, string>;
  pushedAt: Date;
  lastPulledAt?: Date;
  tags: string[];
  /** True when an index or list in the same repository references it. */
  referencedByIndex: boolean;
}

export function toRepository(row: RegistryRepositoryTable): RepositoryRecord {
  return {
    name: row.name,
    arn: row.arn,
    createdAt: new Date(row.created_at),
    tagMutability: isTagMutability(row.tag_mutability) ? row.tag_mutability : "MUTABLE",
    settings: JSON.parse(row.document) as RepositorySettings,
    lifecyclePolicy: row.lifecycle_policy ?? undefined,
    lifecycleEvaluatedAt:
      row.lifecycle_evaluated_at === null ? undefined : new Date(row.lifecycle_evaluated_at),
    lifecyclePreview: row.lifecycle_preview ?? undefined,
  };
}

function toImage(
  row: RegistryManifestTable,
  tags: string[],
  referencedByIndex: boolean,
): ImageRecord {
  return {
    repository: row.repository,
    digest: row.digest,
    mediaType: row.media_type,
    artifactType: row.artifact_type ?? undefined,
    manifestSize: Number(row.size),
    imageSize: Number(row.image_size),
    subject: row.subject ?? undefined,
    annotations:
      row.annotations === null
        ? undefined
        : (JSON.parse(row.annotations) as Record<string, string>),
    pushedAt: new Date(Number(row.pushed_at)),
    lastPulledAt: row.last_pulled_at === null ? undefined : new Date(Number(row.last_pulled_at)),
    tags,
    referencedByIndex,
  };
}

export class RegistryMetadata {
  constructor(readonly store: Store) {}

  async repository(name: string): Promise<RepositoryRecord | undefined> {
    const row = await this.store
      .selectFrom("registry_repositories")
      .selectAll()
      .where("name", "=", name)
      .executeTakeFirst();
    return row === undefined ? undefined : toRepository(row);
  }

  async repositories(): Promise<RepositoryRecord[]> {
    const rows = await this.store
      .selectFrom("registry_repositories")
      .selectAll()
      .orderBy("name")
      .execute();
    return rows.map(toRepository);
  }

  async repositoryNames(after: string | undefined, limit: number): Promise<string[]> {
    let query = this.store.selectFrom("registry_repositories").select("name").orderBy("name");
    if (after !== undefined) query = query.where("name", ">", after);
    const rows = await query.limit(limit).execute();
    return rows.map((r) => r.name);
  }

  /** Every image of a repository, newest first, with its tags. */
  async images(repository: string): Promise<ImageRecord[]> {
    const [rows, tags, children] = await Promise.all([
      this.store
        .selectFrom("registry_manifests")
        .selectAll()
        .where("repository", "=", repository)
        .orderBy("pushed_at", "desc")
        .orderBy("digest")
        .execute(),
      this.store
        .selectFrom("registry_tags")
        .select(["tag", "digest"])
        .where("repository", "=", repository)
        .orderBy("tag")
        .execute(),
      this.store
        .selectFrom("registry_manifest_refs")
        .innerJoin("registry_manifests", (join) =>
          join
            .onRef("registry_manifests.repository", "=", "registry_manifest_refs.repository")
            .onRef("registry_manifests.digest", "=", "registry_manifest_refs.child"),
        )
        .select("registry_manifest_refs.child")
        .where("registry_manifest_refs.repository", "=", repository)
        .execute(),
    ]);
    const byDigest = new Map<string, string[]>();
    for (const { tag, digest } of tags) {
      const list = byDigest.get(digest) ?? [];
      list.push(tag);
      byDigest.set(digest, list);
    }
    const referenced = new Set(children.map((c) => c.child));
    return rows.map((row) =>
      toImage(row, byDigest.get(row.digest) ?? [], referenced.has(row.digest)),
    );
  }

  async image(repository: string, digest: string): Promise<ImageRecord | undefined> {
    const row = await this.store
      .selectFrom("registry_manifests")
      .selectAll()
      .where("repository", "=", repository)
      .where("digest", "=", digest)
      .executeTakeFirst();
    if (row === undefined) return undefined;
    const tags = await this.store
      .selectFrom("registry_tags")
      .select("tag")
      .where("repository", "=", repository)
      .where("digest", "=", digest)
      .orderBy("tag")
      .execute();
    const parent = await this.indexParent(repository, digest);
    return toImage(
      row,
      tags.map((t) => t.tag),
      parent !== undefined,
    );
  }

  /** An index or list in the repository that references `digest`, if any. */
  async indexParent(repository: string, digest: string): Promise<string | undefined> {
    const row = await this.store
      .selectFrom("registry_manifest_refs")
      .innerJoin("registry_manifests", (join) =>
        join
          .onRef("registry_manifests.repository", "=", "registry_manifest_refs.repository")
          .onRef("registry_manifests.digest", "=", "registry_manifest_refs.manifest"),
      )
      .select("registry_manifest_refs.manifest")
      .where("registry_manifest_refs.repository", "=", repository)
      .where("registry_manifest_refs.child", "=", digest)
      .where("registry_manifests.media_type", "in", [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
      ])
      .executeTakeFirst();
    return row?.manifest;
  }

  async tagDigest(repository: string, tag: string): Promise<string | undefined> {
    const row = await this.store
      .selectFrom("registry_tags")
      .select("digest")
      .where("repository", "=", repository)
      .where("tag", "=", tag)
      .executeTakeFirst();
    return row?.digest;
  }

  async tags(repository: string, after: string | undefined, limit: number): Promise<string[]> {
    let query = this.store
      .selectFrom("registry_tags")
      .select("tag")
      .where("repository", "=", repository)
      .orderBy("tag");
    if (after !== undefined) query = query.where("tag", ">", after);
    const rows = await query.limit(limit).execute();
    return rows.map((r) => r.tag);
  }

  async referrers(repository: string, subject: string): Promise<ImageRecord[]> {
    const rows = await this.store
      .selectFrom("registry_manifests")
      .selectAll()
      .where("repository", "=", repository)
      .where("subject", "=", subject)
      .orderBy("digest")
      .execute();
    return rows.map((row) => toImage(row, [], false));
  }

  /** Whether the repository may serve blob `digest`: uploaded, mounted, or one of its manifests. */
  async blobVisible(repository: string, digest: string): Promise<boolean> {
    const link = await this.store
      .selectFrom("registry_blob_links")
      .select("digest")
      .where("repository", "=", repository)
      .where("digest", "=", digest)
      .executeTakeFirst();
    if (link !== undefined) return true;
    const manifest = await this.store
      .selectFrom("registry_manifests")
      .select("digest")
      .where("repository", "=", repository)
      .where("digest", "=", digest)
      .executeTakeFirst();
    return manifest !== undefined;
  }

  async linkBlob(repository: string, digest: string, size: number, now: Date): Promise<void> {
    await this.store
      .insertInto("registry_blob_links")
      .values({ repository, digest, size, linked_at: now.getTime() })
      .onConflict((oc) =>
        oc.columns(["repository", "digest"]).doUpdateSet({ size, linked_at: now.getTime() }),
      )
      .execute();
  }

  async unlinkBlob(repository: string, digest: string): Promise<boolean> {
    const result = await this.store
      .deleteFrom("registry_blob_links")
      .where("repository", "=", repository)
      .where("digest", "=", digest)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /** Of `digests`, those not linked into the repository. */
  missingBlobs(repository: string, digests: string[]): Promise<string[]> {
    return this.#missing("registry_blob_links", repository, digests);
  }

  missingManifests(repository: string, digests: string[]): Promise<string[]> {
    return this.#missing("registry_manifests", repository, digests);
  }

  async #missing(
    table: "registry_blob_links" | "registry_manifests",
    repository: string,
    digests: string[],
  ): Promise<string[]> {
    if (digests.length === 0) return [];
    const rows = await this.store
      .selectFrom(table)
      .select("digest")
      .where("repository", "=", repository)
      .where("digest", "in", digests)
      .execute();
    const found = new Set(rows.map((r) => r.digest));
    return digests.filter((d) => !found.has(d));
  }

  async markPulled(repository: string, digest: string, now: Date): Promise<void> {
    await this.store
      .updateTable("registry_manifests")
      .set({ last_pulled_at: now.getTime() })
      .where("repository", "=", repository)
      .where("digest", "=", digest)
      .execute();
  }
}
