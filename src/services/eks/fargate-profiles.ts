/**
 * EKS Fargate profiles: which pods run on Fargate (namespace and labels). Kept as EKS documents;
 * src/kube matches pods against them.
 */
import type { EKS, CreateFargateProfileRequest, FargateProfile } from "@aws-sdk/client-eks";
import { randomUUID } from "node:crypto";
import { page, type Handlers } from "../../aws/index.js";
import { dropTags, type EksFargateProfileTable, type Store } from "../../store/index.js";
import { findCluster } from "./clusters.js";
import { invalidParameter, invalidRequest, profileNotFound, resourceInUse } from "./errors.js";
import { profileArnOf } from "./resources.js";
import { readTagMap, writeTagMap } from "./tags.js";

const MAX_SELECTORS = 5;
const MAX_LABELS = 5;
const NAME = /^[0-9A-Za-z][A-Za-z0-9\-_]*$/;

function toProfile(
  row: EksFargateProfileTable,
  tags: Record<string, string>,
  status = "ACTIVE",
): FargateProfile {
  const document = JSON.parse(row.document) as FargateProfile;
  return {
    ...document,
    createdAt: new Date(row.created_at),
    status: status as FargateProfile["status"],
    tags,
  };
}

async function findProfile(
  store: Store,
  cluster: string,
  name: string,
): Promise<EksFargateProfileTable> {
  return store
    .selectFrom("eks_fargate_profiles")
    .selectAll()
    .where("cluster_name", "=", cluster)
    .where("name", "=", name)
    .executeTakeFirstOrThrow(() => profileNotFound(name));
}

function checkSelectors(selectors: CreateFargateProfileRequest["selectors"]): void {
  const list = selectors ?? [];
  if (list.length === 0) throw invalidParameter("Fargate Profile must have at least one selector.");
  if (list.length > MAX_SELECTORS)
    throw invalidParameter(`Fargate Profile cannot have more than ${MAX_SELECTORS} selectors.`);
  for (const selector of list) {
    if (selector.namespace === undefined || selector.namespace === "")
      throw invalidParameter("Fargate Profile selector must specify a namespace.");
    if (Object.keys(selector.labels ?? {}).length > MAX_LABELS)
      throw invalidParameter(
        `Fargate Profile selector cannot have more than ${MAX_LABELS} labels.`,
      );
  }
}

export function fargateProfileHandlers(store: Store) {
  return {
    createFargateProfile: async (input, ctx) => {
      const cluster = await findCluster(store, input.clusterName ?? "");
      const name = input.fargateProfileName ?? "";
      if (!NAME.test(name) || name.length > 100)
        throw invalidParameter(
          "The Fargate Profile name must start with an alphanumeric character and contain only alphanumeric characters, hyphens and underscores.",
        );
      if (cluster.status !== "ACTIVE")
        throw invalidRequest(`Cluster '${cluster.name}' is not in ACTIVE status`);
      checkSelectors(input.selectors);
      const existing = await store
        .selectFrom("eks_fargate_profiles")
        .select("name")
        .where("cluster_name", "=", cluster.name)
        .where("name", "=", name)
        .executeTakeFirst();
      if (existing !== undefined)
        throw resourceInUse(`A Fargate Profile already exists with this name in the cluster.`);
      const arn = profileArnOf(ctx.identity, cluster.name, name, randomUUID());
      const document: FargateProfile = {
        fargateProfileName: name,
        fargateProfileArn: arn,
        clusterName: cluster.name,
        podExecutionRoleArn: input.podExecutionRoleArn,
        // Berth has no VPCs: the subnets are kept as given (the first is the tasks' subnetId).
        subnets: input.subnets ?? [],
        selectors: (input.selectors ?? []).map((s) => ({
          namespace: s.namespace,
          ...(s.labels === undefined ? {} : { labels: s.labels }),
        })),
      };
      const row: EksFargateProfileTable = {
        cluster_name: cluster.name,
        name,
        arn,
        document: JSON.stringify(document),
        created_at: ctx.clock.now().getTime(),
      };
      await store.insertInto("eks_fargate_profiles").values(row).execute();
      await writeTagMap(store, arn, input.tags);
      // EKS answers CREATING and takes minutes; Berth's profile applies at once.
      return { fargateProfile: toProfile(row, await readTagMap(store, arn), "CREATING") };
    },

    describeFargateProfile: async (input) => {
      const cluster = await findCluster(store, input.clusterName ?? "");
      const row = await findProfile(store, cluster.name, input.fargateProfileName ?? "");
      return { fargateProfile: toProfile(row, await readTagMap(store, row.arn)) };
    },

    listFargateProfiles: async (input) => {
      const cluster = await findCluster(store, input.clusterName ?? "");
      const rows = await store
        .selectFrom("eks_fargate_profiles")
        .select("name")
        .where("cluster_name", "=", cluster.name)
        .orderBy("name")
        .execute();
      const { items, ...next } = page(rows, input, 100);
      return { fargateProfileNames: items.map((row) => row.name), ...next };
    },

    deleteFargateProfile: async (input) => {
      const cluster = await findCluster(store, input.clusterName ?? "");
      const row = await findProfile(store, cluster.name, input.fargateProfileName ?? "");
      const tags = await readTagMap(store, row.arn);
      await store.transaction().execute(async (trx) => {
        await trx
          .deleteFrom("eks_fargate_profiles")
          .where("cluster_name", "=", cluster.name)
          .where("name", "=", row.name)
          .execute();
        await dropTags(trx, [row.arn]);
      });
      // EKS keeps it DELETING for minutes and then stops the pods it ran; Berth's pods keep running.
      return { fargateProfile: toProfile(row, tags, "DELETING") };
    },
  } satisfies Handlers<EKS>;
}
