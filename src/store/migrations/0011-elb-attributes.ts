/** Load balancer attributes (ELBv2 Describe/ModifyLoadBalancerAttributes): key -> value JSON. */
import type { Kysely, Migration } from "kysely";

export const elbAttributesMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable("elb_load_balancers").addColumn("attributes", "text").execute();
  },
};
