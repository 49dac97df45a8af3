/**
 * Kubernetes objects of every cluster, in the store: create, read, list, update and delete with
 * a per-cluster resourceVersion (the cluster row's counter, bumped in the same transaction as
 * the change, as etcd's revision is), and a watch cache in memory: the last changes of each
 * cluster, from which a watch resumes at a resourceVersion, or learns it is too old (410).
 */
import { randomBytes, randomUUID } from "node:crypto";
import type { Clock } from "../core/index.js";
import type { Transaction } from "kysely";
import type { Database, Store } from "../store/index.js";
import { storageKey, type ResourceType } from "./resources.js";
import { alreadyExists, conflict, KubeError, notFound } from "./status.js";

/** A time as Kubernetes writes it (metav1.Time): RFC 3339 in whole seconds, UTC. */
export const kubeTime = (date: Date): string => date.toISOString().replace(/\.\d{3}Z$/, "Z");

/** kube's five-character name suffix (rand.String: no vowels, no look-alikes). */
export function nameSuffix(): string {
  const alphabet = "bcdfghjklmnpqrstvwxz2456789";
  return [...randomBytes(5)].map((b) => alphabet[b % alphabet.length]).join("");
}

/** The columns that name one object's row. */
function objectKey(cluster: string, type: ResourceType, namespace: string, name: string) {
  return { cluster_name: cluster, resource: storageKey(type), namespace, name };
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: {
    apiVersion: string;
    kind: string;
    name: string;
    uid: string;
    controller?: boolean;
    blockOwnerDeletion?: boolean;
  }[];
  finalizers?: string[];
  managedFields?: unknown[];
  [key: string]: unknown;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
  [key: string]: unknown;
}

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED";

export interface Change {
  cluster: string;
  resource: string;
  namespace: string;
  type: WatchEventType;
  object: KubeObject;
  resourceVersion: number;
}

export type ChangeListener = (change: Change) => void;

/** How many changes per cluster a watch can resume from (the API server's watch cache). */
const WATCH_CACHE = 2000;

interface ClusterHistory {
  /** The oldest resourceVersion a watch may start after. */
  floor: number;
  changes: Change[];
}

export class KubeObjects {
  readonly #history = new Map<string, ClusterHistory>();
  readonly #listeners = new Set<ChangeListener>();

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
  ) {}

  async get(
    cluster: string,
    type: ResourceType,
    namespace: string,
    name: string,
  ): Promise<KubeObject> {
    const row = await this.store
      .selectFrom("kube_objects")
      .select("document")
      .where((eb) => eb.and(objectKey(cluster, type, type.namespaced ? namespace : "", name)))
      .executeTakeFirstOrThrow(() => notFound(type.resource, name, type.group, type.kind));
    return JSON.parse(row.document) as KubeObject;
  }

  async find(cluster: string, type: ResourceType, namespace: string, name: string) {
    try {
      return await this.get(cluster, type, namespace, name);
    } catch (error) {
      if (error instanceof KubeError && error.status === 404) return undefined;
      throw error;
    }
  }

  /** Every object of a type (in a namespace when given), and the resourceVersion of the list. */
  async list(
    cluster: string,
    type: ResourceType,
    namespace?: string,
  ): Promise<{ items: KubeObject[]; resourceVersion: number }> {
    return this.store.transaction().execute(async (trx) => {
      let query = trx
        .selectFrom("kube_objects")
        .select("document")
        .where("cluster_name", "=", cluster)
        .where("resource", "=", storageKey(type));
      if (namespace !== undefined && type.namespaced)
        query = query.where("namespace", "=", namespace);
      const rows = await query.orderBy("namespace").orderBy("name").execute();
      const counter = await trx
        .selectFrom("eks_clusters")
        .select("resource_version")
        .where("name", "=", cluster)
        .executeTakeFirst();
      return {
        items: rows.map((r) => JSON.parse(r.document) as KubeObject),
        resourceVersion: Number(counter?.resource_version ?? 0),
      };
    });
  }

  async create(cluster: string, type: ResourceType, object: KubeObject): Promise<KubeObject> {
    const meta = object.metadata;
    const name = meta.name ?? "";
    const namespace = type.namespaced ? (meta.namespace ?? "default") : "";
    return this.#write(cluster, type, namespace, async (trx, rv) => {
      const existing = await trx
        .selectFrom("kube_objects")
        .select("name")
        .where((eb) => eb.and(objectKey(cluster, type, namespace, name)))
        .executeTakeFirst();
      if (existing !== undefined) throw alreadyExists(type.resource, name, type.group);
      const created: KubeObject = {
        ...object,
        apiVersion: type.group === "" ? type.version : `${type.group}/${type.version}`,
        kind: type.kind,
        metadata: {
          ...meta,
          name,
          ...(type.namespaced ? { namespace } : {}),
          uid: randomUUID(),
          resourceVersion: String(rv),
          generation: 1,
          creationTimestamp: this.#now(),
        },
      };
      delete created.metadata.generateName;
      if (meta.generateName !== undefined) created.metadata.generateName = meta.generateName;
      await trx
        .insertInto("kube_objects")
        .values({
          cluster_name: cluster,
          resource: storageKey(type),
          namespace,
          name,
          uid: created.metadata.uid ?? "",
          resource_version: rv,
          document: JSON.stringify(created),
        })
        .execute();
      return { object: created, type: "ADDED" };
    });
  }

  /**
   * Replaces an object with `change(current)`. A caller's resourceVersion that is not the stored
   * one is a 409 Conflict (optimistic concurrency); the generation counts spec changes.
   */
  async update(
    cluster: string,
    type: ResourceType,
    namespace: string,
    name: string,
    change: (current: KubeObject) => KubeObject | Promise<KubeObject>,
  ): Promise<KubeObject> {
    const ns = type.namespaced ? namespace : "";
    return this.#write(cluster, type, ns, async (trx, rv) => {
      const row = await trx
        .selectFrom("kube_objects")
        .select(["document", "resource_version"])
        .where((eb) => eb.and(objectKey(cluster, type, ns, name)))
        .executeTakeFirstOrThrow(() => notFound(type.resource, name, type.group, type.kind));
      const current = JSON.parse(row.document) as KubeObject;
      const next = await change(structuredClone(current));
      const asked = next.metadata.resourceVersion;
      if (asked !== undefined && asked !== "" && asked !== String(row.resource_version))
        throw conflict(
          type.resource,
          name,
          "the object has been modified; please apply your changes to the latest version and try again",
          type.group,
        );
      const specChanged =
        JSON.stringify(next.spec ?? null) !== JSON.stringify(current.spec ?? null);
      const updated: KubeObject = {
        ...next,
        apiVersion: current.apiVersion,
        kind: current.kind,
        metadata: {
          ...next.metadata,
          name: current.metadata.name,
          ...(type.namespaced ? { namespace: ns } : {}),
          uid: current.metadata.uid,
          creationTimestamp: current.metadata.creationTimestamp,
          generation: (current.metadata.generation ?? 1) + (specChanged ? 1 : 0),
          resourceVersion: String(rv),
        },
      };
      if (
        JSON.stringify({ ...updated, metadata: { ...updated.metadata, resourceVersion: "" } }) ===
        JSON.stringify({ ...current, metadata: { ...current.metadata, resourceVersion: "" } })
      )
        return { object: current, type: undefined };
      await trx
        .updateTable("kube_objects")
        .set({ document: JSON.stringify(updated), resource_version: rv })
        .where((eb) => eb.and(objectKey(cluster, type, ns, name)))
        .execute();
      return { object: updated, type: "MODIFIED" };
    });
  }

  async delete(
    cluster: string,
    type: ResourceType,
    namespace: string,
    name: string,
  ): Promise<KubeObject> {
    const ns = type.namespaced ? namespace : "";
    return this.#write(cluster, type, ns, async (trx, rv) => {
      const row = await trx
        .selectFrom("kube_objects")
        .select("document")
        .where((eb) => eb.and(objectKey(cluster, type, ns, name)))
        .executeTakeFirstOrThrow(() => notFound(type.resource, name, type.group, type.kind));
      await trx
        .deleteFrom("kube_objects")
        .where((eb) => eb.and(objectKey(cluster, type, ns, name)))
        .execute();
      const object = JSON.parse(row.document) as KubeObject;
      object.metadata.resourceVersion = String(rv);
      return { object, type: "DELETED" };
    });
  }

  /** Every change from now on, of every cluster (controllers). */
  subscribe(listener: ChangeListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * The changes after `resourceVersion` still in the watch cache, then every new one. A version
   * older than the cache is 410 Gone ("too old resource version"), as etcd's compaction gives.
   */
  async watchFrom(
    cluster: string,
    resourceVersion: number,
    listener: ChangeListener,
  ): Promise<() => void> {
    const history = await this.#historyOf(cluster);
    if (resourceVersion < history.floor)
      throw new KubeError(
        "Expired",
        `too old resource version: ${resourceVersion} (${history.floor})`,
        410,
      );
    for (const change of history.changes)
      if (change.resourceVersion > resourceVersion) listener(change);
    const filtered: ChangeListener = (change) => {
      if (change.cluster === cluster) listener(change);
    };
    return this.subscribe(filtered);
  }

  /** Forgets a deleted cluster's objects and watch cache. */
  async dropCluster(cluster: string): Promise<void> {
    await this.store.deleteFrom("kube_objects").where("cluster_name", "=", cluster).execute();
    this.#history.delete(cluster);
  }

  async #historyOf(cluster: string): Promise<ClusterHistory> {
    let history = this.#history.get(cluster);
    if (history === undefined) {
      // After a restart the cache starts empty: versions before now are too old to resume from.
      const row = await this.store
        .selectFrom("eks_clusters")
        .select("resource_version")
        .where("name", "=", cluster)
        .executeTakeFirst();
      history = this.#history.get(cluster) ?? {
        floor: Number(row?.resource_version ?? 0),
        changes: [],
      };
      this.#history.set(cluster, history);
    }
    return history;
  }

  #now(): string {
    return kubeTime(this.clock.now());
  }

  async #write(
    cluster: string,
    type: ResourceType,
    namespace: string,
    body: (
      trx: Transaction<Database>,
      rv: number,
    ) => Promise<{ object: KubeObject; type: WatchEventType | undefined }>,
  ): Promise<KubeObject> {
    const history = await this.#historyOf(cluster);
    const result = await this.store
      .transaction()
      .execute(async (trx) => {
        const bumped = await trx
          .updateTable("eks_clusters")
          .set((eb) => ({ resource_version: eb("resource_version", "+", 1) }))
          .where("name", "=", cluster)
          .returning("resource_version")
          .executeTakeFirstOrThrow(() => notFound("clusters", cluster));
        const outcome = await body(trx, Number(bumped.resource_version));
        // An update that changed nothing keeps its version: undo the bump by failing quietly.
        if (outcome.type === undefined) throw new NoChange(outcome.object);
        return { ...outcome, rv: Number(bumped.resource_version) };
      })
      .catch((error: unknown) => {
        if (error instanceof NoChange) return { object: error.object, type: undefined, rv: 0 };
        throw error;
      });
    if (result.type !== undefined) {
      const change: Change = {
        cluster,
        resource: storageKey(type),
        namespace,
        type: result.type,
        object: result.object,
        resourceVersion: result.rv,
      };
      history.changes.push(change);
      if (history.changes.length > WATCH_CACHE) {
        const dropped = history.changes.splice(0, history.changes.length - WATCH_CACHE);
        history.floor = dropped[dropped.length - 1]?.resourceVersion ?? history.floor;
      }
      for (const listener of this.#listeners) listener(change);
    }
    return result.object;
  }
}

class NoChange extends Error {
  constructor(readonly object: KubeObject) {
    super("no change");
  }
}
