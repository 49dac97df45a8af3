/** EKS clusters: create, describe, list, delete. Each has an ECS cluster of the same name for its pods. */
import type { EKS, Cluster } from "@aws-sdk/client-eks";
import { randomUUID } from "node:crypto";
import { page, type RequestContext, type Handlers } from "../../aws/index.js";
import { dropTags, type EksClusterTable, type Store } from "../../store/index.js";
import { clusterNotFound, invalidParameter, resourceInUse } from "./errors.js";
import { clusterArnOf, KUBERNETES_VERSION } from "./resources.js";
import { readTagMap, writeTagMap } from "./tags.js";

/** What the rest of Berth does for an EKS cluster (the composition root provides it). */
export interface EksClusterHooks {
  /** The URL of the cluster's Kubernetes API. */
  endpoint(clusterName: string): string;
  /** The CA the API's certificate chains to, base64 of its PEM (as EKS's `certificateAuthority.data`). */
  certificateAuthorityData(): string;
  /** Makes the ECS cluster of the same name (whose tasks are the pods) and the initial objects. */
  createClusterWorkloads(clusterName: string, ctx: RequestContext): Promise<void>;
  /** Stops the cluster's pods and forgets its Kubernetes objects and its ECS cluster. */
  deleteClusterWorkloads(clusterName: string, ctx: RequestContext): Promise<void>;
}

type ClusterDocument = Omit<Cluster, "endpoint" | "certificateAuthority" | "status" | "tags">;

function toCluster(
  row: EksClusterTable,
  hooks: EksClusterHooks,
  tags: Record<string, string>,
  status = row.status,
): Cluster {
  const document = JSON.parse(row.document) as ClusterDocument;
  return {
    ...document,
    createdAt: new Date(row.created_at),
    status: status as Cluster["status"],
    endpoint: hooks.endpoint(row.name),
    certificateAuthority: { data: hooks.certificateAuthorityData() },
    tags,
  };
}

const NAME = /^[0-9A-Za-z][A-Za-z0-9\-_]*$/;

export async function findCluster(store: Store, name: string): Promise<EksClusterTable> {
  return store
    .selectFrom("eks_clusters")
    .selectAll()
    .where("name", "=", name)
    .executeTakeFirstOrThrow(() => clusterNotFound(name));
}

export function clusterHandlers(store: Store, hooks: EksClusterHooks) {
  return {
    createCluster: async (input, ctx) => {
      const name = input.name ?? "";
      if (!NAME.test(name) || name.length > 100)
        throw invalidParameter(
          "The cluster name must start with an alphanumeric character and contain only alphanumeric characters, hyphens and underscores (at most 100).",
        );
      const version = input.version ?? KUBERNETES_VERSION;
      // EKS offers several Kubernetes minors; Berth's API server speaks one.
      if (version !== KUBERNETES_VERSION)
        throw invalidParameter(`unsupported Kubernetes version ${version}`);
      const existing = await store
        .selectFrom("eks_clusters")
        .select("name")
        .where("name", "=", name)
        .executeTakeFirst();
      if (existing !== undefined) throw resourceInUse(`Cluster already exists with name: ${name}`);
      const now = ctx.clock.now().getTime();
      const arn = clusterArnOf(ctx.identity, name);
      const vpc = input.resourcesVpcConfig ?? {};
      const document: ClusterDocument = {
        name,
        arn,
        version,
        roleArn: input.roleArn,
        id: randomUUID(),
        platformVersion: "eks.1",
        // Berth has no VPCs: the given subnets and security groups are kept as given.
        resourcesVpcConfig: {
          subnetIds: vpc.subnetIds ?? [],
          securityGroupIds: vpc.securityGroupIds ?? [],
          endpointPublicAccess: vpc.endpointPublicAccess ?? true,
          endpointPrivateAccess: vpc.endpointPrivateAccess ?? false,
          publicAccessCidrs: vpc.publicAccessCidrs ?? ["0.0.0.0/0"],
        },
        kubernetesNetworkConfig: {
          serviceIpv4Cidr: input.kubernetesNetworkConfig?.serviceIpv4Cidr ?? "10.100.0.0/16",
          ipFamily: input.kubernetesNetworkConfig?.ipFamily ?? "ipv4",
        },
        logging: input.logging ?? {
          clusterLogging: [
            {
              types: ["api", "audit", "authenticator", "controllerManager", "scheduler"],
              enabled: false,
            },
          ],
        },
        ...(input.clientRequestToken === undefined
          ? {}
          : { clientRequestToken: input.clientRequestToken }),
      };
      const row: EksClusterTable = {
        name,
        arn,
        // EKS takes ~10 minutes in CREATING; Berth's API server is ready at once.
        status: "ACTIVE",
        document: JSON.stringify(document),
        resource_version: 0,
        created_at: now,
      };
      await store.transaction().execute(async (trx) => {
        await trx.insertInto("eks_clusters").values(row).execute();
        await dropTags(trx, [arn]);
      });
      await writeTagMap(store, arn, input.tags);
      await hooks.createClusterWorkloads(name, ctx);
      return { cluster: toCluster(row, hooks, await readTagMap(store, arn), "CREATING") };
    },

    describeCluster: async (input) => {
      const row = await findCluster(store, input.name ?? "");
      return { cluster: toCluster(row, hooks, await readTagMap(store, row.arn)) };
    },

    listClusters: async (input) => {
      const rows = await store.selectFrom("eks_clusters").select("name").orderBy("name").execute();
      const { items, ...next } = page(rows, input, 100);
      return { clusters: items.map((row) => row.name), ...next };
    },

    deleteCluster: async (input, ctx) => {
      const row = await findCluster(store, input.name ?? "");
      const profiles = await store
        .selectFrom("eks_fargate_profiles")
        .select("name")
        .where("cluster_name", "=", row.name)
        .execute();
      if (profiles.length > 0) throw resourceInUse("Cluster has fargate profiles attached");
      const tags = await readTagMap(store, row.arn);
      await hooks.deleteClusterWorkloads(row.name, ctx);
      await store.transaction().execute(async (trx) => {
        await trx.deleteFrom("eks_clusters").where("name", "=", row.name).execute();
        await dropTags(trx, [row.arn]);
      });
      // EKS keeps a deleted cluster describable in DELETING for minutes; Berth removes it at once.
      return { cluster: toCluster(row, hooks, tags, "DELETING") };
    },
  } satisfies Handlers<EKS>;
}
