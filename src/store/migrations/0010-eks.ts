/**
 * EKS (services/eks) and the Kubernetes objects its clusters serve (src/kube): clusters and
 * Fargate profiles as AWS-shaped documents, and every Kubernetes object as its JSON beside the
 * columns lists and watches filter on. `resource_version` counts per cluster (the cluster row's
 * `resource_version` is the last one handed out), as an API server's etcd revision does.
 */
import type { Kysely, Migration } from "kysely";

export const eksMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("eks_clusters")
      .addColumn("name", "text", (c) => c.primaryKey())
      .addColumn("arn", "text", (c) => c.notNull().unique())
      .addColumn("status", "text", (c) => c.notNull())
      .addColumn("document", "text", (c) => c.notNull())
      .addColumn("resource_version", "bigint", (c) => c.notNull().defaultTo(0))
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .execute();
    await db.schema
      .createTable("eks_fargate_profiles")
      .addColumn("cluster_name", "text", (c) => c.notNull())
      .addColumn("name", "text", (c) => c.notNull())
      .addColumn("arn", "text", (c) => c.notNull().unique())
      .addColumn("document", "text", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addPrimaryKeyConstraint("eks_fargate_profiles_pk", ["cluster_name", "name"])
      .execute();
    await db.schema
      .createTable("kube_objects")
      .addColumn("cluster_name", "text", (c) => c.notNull())
      // The resource's plural with its group: `pods`, `deployments.apps`.
      .addColumn("resource", "text", (c) => c.notNull())
      .addColumn("namespace", "text", (c) => c.notNull())
      .addColumn("name", "text", (c) => c.notNull())
      .addColumn("uid", "text", (c) => c.notNull())
      .addColumn("resource_version", "bigint", (c) => c.notNull())
      .addColumn("document", "text", (c) => c.notNull())
      .addPrimaryKeyConstraint("kube_objects_pk", ["cluster_name", "resource", "namespace", "name"])
      .execute();
  },
};
