/** ECS clusters: create (idempotent by name), describe, list, update, delete. */
import type {
  ECS,
  Cluster,
  ClusterField,
  CreateClusterRequest,
  DescribeClustersResponse,
} from "@aws-sdk/client-ecs";
import { AwsError, page, type Handlers } from "../../aws/index.js";
import {
  defaultAddressSpace,
  releaseClusterBlock,
  type TaskAddressSpace,
} from "../../control/index.js";
import type { Identity } from "../../core/index.js";
import { dropTags, readTags, type ClusterTable, type Store } from "../../store/index.js";
import { clusterNotFound, invalidParameter } from "./errors.js";
import { clusterArn, clusterName, DEFAULT_CLUSTER } from "./resources.js";
import { writeTags } from "./tags.js";

/** What a cluster row's JSON document holds: the parts of `Cluster` a caller sets. */
type ClusterDocument = Pick<
  Cluster,
  | "settings"
  | "configuration"
  | "serviceConnectDefaults"
  | "capacityProviders"
  | "defaultCapacityProviderStrategy"
>;

const DEFAULT_SETTINGS = [{ name: "containerInsights", value: "disabled" }] as const;

function toCluster(
  row: ClusterTable,
  include: ReadonlySet<ClusterField>,
  tags?: Cluster["tags"],
): Cluster {
  const document = JSON.parse(row.document) as ClusterDocument;
  return {
    clusterArn: row.arn,
    clusterName: row.name,
    status: row.status,
    registeredContainerInstancesCount: 0,
    runningTasksCount: 0,
    pendingTasksCount: 0,
    activeServicesCount: 0,
    statistics: include.has("STATISTICS") ? [] : undefined,
    tags: include.has("TAGS") ? (tags ?? []) : undefined,
    settings: include.has("SETTINGS") ? document.settings : undefined,
    configuration: include.has("CONFIGURATIONS") ? document.configuration : undefined,
    capacityProviders: document.capacityProviders ?? [],
    defaultCapacityProviderStrategy: document.defaultCapacityProviderStrategy ?? [],
    serviceConnectDefaults: document.serviceConnectDefaults,
    attachments: include.has("ATTACHMENTS") ? [] : undefined,
  };
}

function serviceConnectDefaults(
  identity: Identity,
  input: CreateClusterRequest["serviceConnectDefaults"],
) {
  if (input?.namespace === undefined) return undefined;
  // ECS resolves the namespace name through Cloud Map; Berth has none, so it keeps an ARN-shaped name.
  return {
    namespace: `arn:aws:servicediscovery:${identity.region}:${identity.accountId}:namespace/${input.namespace}`,
  };
}

/** What DescribeClusters counts: tasks by state and services not yet deleted. */
async function clusterCounts(
  store: Store,
  name: string,
): Promise<Pick<Cluster, "runningTasksCount" | "pendingTasksCount" | "activeServicesCount">> {
  const tasks = await store
    .selectFrom("tasks")
    .select("last_status")
    .select((eb) => eb.fn.countAll<number>().as("count"))
    .where("cluster_name", "=", name)
    .where("last_status", "!=", "STOPPED")
    .groupBy("last_status")
    .execute();
  const services = await store
    .selectFrom("services")
    .select((eb) => eb.fn.countAll<number>().as("count"))
    .where("cluster_name", "=", name)
    .where("status", "=", "ACTIVE")
    .executeTakeFirst();
  const running = tasks
    .filter((t) => t.last_status === "RUNNING")
    .reduce((sum, t) => sum + Number(t.count), 0);
  const all = tasks.reduce((sum, t) => sum + Number(t.count), 0);
  return {
    runningTasksCount: running,
    pendingTasksCount: all - running,
    activeServicesCount: Number(services?.count ?? 0),
  };
}

export async function ensureDefaultCluster(
  store: Store,
  identity: Identity,
  now: Date,
): Promise<void> {
  // Created once, on first start; a user who deletes it keeps it deleted.
  const document: ClusterDocument = { settings: [...DEFAULT_SETTINGS] };
  await store
    .insertInto("clusters")
    .values({
      name: DEFAULT_CLUSTER,
      arn: clusterArn(identity, DEFAULT_CLUSTER),
      status: "ACTIVE",
      document: JSON.stringify(document),
      created_at: now.getTime(),
      updated_at: now.getTime(),
    })
    .onConflict((oc) => oc.column("name").doNothing())
    .execute();
}

export async function findActiveCluster(
  store: Store,
  identifier: string | undefined,
): Promise<ClusterTable> {
  const row = await store
    .selectFrom("clusters")
    .selectAll()
    .where("name", "=", clusterName(identifier))
    .executeTakeFirst();
  if (row?.status !== "ACTIVE") throw clusterNotFound();
  return row;
}

export function clusterHandlers(store: Store, addresses?: TaskAddressSpace) {
  return {
    createCluster: async (input, ctx) => {
      const name = input.clusterName ?? DEFAULT_CLUSTER;
      if (!/^[a-zA-Z0-9_-]{1,255}$/.test(name))
        throw invalidParameter(
          "Cluster name can only contain alphanumeric characters, hyphens and underscores, and be up to 255 characters long.",
        );
      const now = ctx.clock.now().getTime();
      const document: ClusterDocument = {
        settings: input.settings ?? [...DEFAULT_SETTINGS],
        configuration: input.configuration,
        serviceConnectDefaults: serviceConnectDefaults(ctx.identity, input.serviceConnectDefaults),
        capacityProviders: input.capacityProviders ?? [],
        defaultCapacityProviderStrategy: input.defaultCapacityProviderStrategy ?? [],
      };
      const arn = clusterArn(ctx.identity, name);
      const existing = await store
        .selectFrom("clusters")
        .selectAll()
        .where("name", "=", name)
        .executeTakeFirst();
      if (existing?.status === "ACTIVE") {
        // CreateCluster is idempotent on the name: the existing cluster comes back as it is.
        return {
          cluster: toCluster(
            existing,
            new Set(["SETTINGS", "CONFIGURATIONS", "TAGS"]),
            await readTags(store, arn),
          ),
        };
      }
      const row: ClusterTable = {
        name,
        arn,
        status: "ACTIVE",
        document: JSON.stringify(document),
        created_at: now,
        updated_at: now,
      };
      await store.transaction().execute(async (trx) => {
        await trx
          .insertInto("clusters")
          .values(row)
          .onConflict((oc) =>
            oc.column("name").doUpdateSet({
              status: "ACTIVE",
              document: row.document,
              created_at: now,
              updated_at: now,
            }),
          )
          .execute();
        // A cluster re-created under an old name starts without the old one's tags.
        await dropTags(trx, [arn]);
      });
      await writeTags(store, arn, input.tags);
      return {
        cluster: toCluster(
          row,
          new Set(["SETTINGS", "CONFIGURATIONS", "TAGS"]),
          await readTags(store, arn),
        ),
      };
    },

    describeClusters: async (input, ctx) => {
      const identifiers = input.clusters?.length ? input.clusters : [DEFAULT_CLUSTER];
      const include = new Set(input.include ?? []);
      const clusters: Cluster[] = [];
      const failures: DescribeClustersResponse["failures"] = [];
      for (const identifier of identifiers) {
        const name = clusterName(identifier);
        const row = await store
          .selectFrom("clusters")
          .selectAll()
          .where("name", "=", name)
          .executeTakeFirst();
        if (row === undefined) {
          failures.push({ arn: clusterArn(ctx.identity, name), reason: "MISSING" });
          continue;
        }
        const tags = include.has("TAGS") ? await readTags(store, row.arn) : undefined;
        clusters.push({
          ...toCluster(row, include, tags),
          ...(await clusterCounts(store, row.name)),
        });
      }
      return { clusters, failures };
    },

    listClusters: async (input) => {
      const rows = await store
        .selectFrom("clusters")
        .select("arn")
        .where("status", "=", "ACTIVE")
        .orderBy("name")
        .execute();
      const { items, nextToken } = page(rows, input, 100);
      return { clusterArns: items.map((row) => row.arn), nextToken };
    },

    updateCluster: async (input, ctx) => {
      const row = await findActiveCluster(store, input.cluster);
      const document = JSON.parse(row.document) as ClusterDocument;
      if (input.settings !== undefined) {
        const settings = new Map((document.settings ?? []).map((s) => [s.name, s]));
        for (const setting of input.settings) settings.set(setting.name, setting);
        document.settings = [...settings.values()];
      }
      if (input.configuration !== undefined) document.configuration = input.configuration;
      if (input.serviceConnectDefaults !== undefined)
        document.serviceConnectDefaults = serviceConnectDefaults(
          ctx.identity,
          input.serviceConnectDefaults,
        );
      const updated = {
        ...row,
        document: JSON.stringify(document),
        updated_at: ctx.clock.now().getTime(),
      };
      await store
        .updateTable("clusters")
        .set({ document: updated.document, updated_at: updated.updated_at })
        .where("name", "=", row.name)
        .execute();
      return { cluster: toCluster(updated, new Set(["SETTINGS", "CONFIGURATIONS"])) };
    },

    deleteCluster: async (input, ctx) => {
      const row = await findActiveCluster(store, input.cluster);
      const services = await store
        .selectFrom("services")
        .select("arn")
        .where("cluster_name", "=", row.name)
        .where("status", "!=", "INACTIVE")
        .executeTakeFirst();
      if (services !== undefined)
        throw new AwsError(
          "ClusterContainsServicesException",
          "The Cluster cannot be deleted while Services are active.",
        );
      const tasks = await store
        .selectFrom("tasks")
        .select("arn")
        .where("cluster_name", "=", row.name)
        .where("last_status", "!=", "STOPPED")
        .executeTakeFirst();
      if (tasks !== undefined)
        throw new AwsError(
          "ClusterContainsTasksException",
          "The Cluster cannot be deleted while Tasks are active.",
        );
      const updated = { ...row, status: "INACTIVE", updated_at: ctx.clock.now().getTime() };
      await store
        .updateTable("clusters")
        .set({ status: "INACTIVE", updated_at: updated.updated_at })
        .where("name", "=", row.name)
        .execute();
      // Its tasks are all stopped: its block of task addresses goes back to the pool.
      await releaseClusterBlock(store, addresses ?? defaultAddressSpace, row.arn);
      return { cluster: toCluster(updated, new Set(["SETTINGS"])) };
    },
  } satisfies Handlers<ECS>;
}
