/**
 * The load balancer's TargetResponseTime per metric period (Average, p90, p99 in seconds), kept
 * beside the other datapoints for the console's charts: per service over its target groups, and
 * per target group (series `targetgroup:ARN`).
 */
import type { Kysely, Migration } from "kysely";

export const responseTimesMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    for (const column of ["response_time", "response_time_p90", "response_time_p99"])
      await db.schema
        .alterTable("metric_datapoints")
        .addColumn(column, "double precision")
        .execute();
  },
};
