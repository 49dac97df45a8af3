/**
 * Task addresses allocated by the control plane: a block of the task CIDR per cluster and a
 * subnet of it per host that runs the cluster's tasks, so that every address is unique across
 * hosts; and each host's address on the datacenter link (where its peers send the cluster's
 * VXLAN traffic and the load balancer routes).
 */
import type { Kysely, Migration } from "kysely";

export const taskSubnetsMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("cluster_blocks")
      .addColumn("cluster_arn", "text", (c) => c.primaryKey())
      .addColumn("block", "text", (c) => c.notNull().unique())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .execute();
    await db.schema
      .createTable("host_subnets")
      .addColumn("cluster_arn", "text", (c) => c.notNull())
      .addColumn("host_id", "text", (c) => c.notNull())
      .addColumn("subnet", "text", (c) => c.notNull().unique())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addPrimaryKeyConstraint("host_subnets_pk", ["cluster_arn", "host_id"])
      .execute();
    await db.schema.alterTable("hosts").addColumn("address", "text").execute();
  },
};
