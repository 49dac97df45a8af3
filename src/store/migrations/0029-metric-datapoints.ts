/**
 * The console's charts (src/console/metrics-history.ts): each metric period's datapoints per
 * service and per task, written by the server that closed the period (the leader) and read by
 * every server, so charts survive a restart and look the same from any server. Rows live as
 * long as CloudWatch keeps datapoints of that resolution, up to the charts' longest window.
 */
import type { Kysely, Migration } from "kysely";

export const metricDatapointsMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("metric_datapoints")
      .addColumn("series_key", "text", (c) => c.notNull())
      .addColumn("at", "bigint", (c) => c.notNull())
      .addColumn("period_ms", "integer", (c) => c.notNull())
      .addColumn("cpu", "double precision")
      .addColumn("memory", "double precision")
      .addColumn("requests", "double precision")
      .addColumn("running", "integer")
      .addColumn("pending", "integer")
      .addColumn("desired", "integer")
      .addPrimaryKeyConstraint("metric_datapoints_pk", ["series_key", "at"])
      .execute();
    await db.schema
      .createIndex("metric_datapoints_at")
      .on("metric_datapoints")
      .column("at")
      .execute();
  },
};
