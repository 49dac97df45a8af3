/**
 * Versioned schema migrations. Append only: a migration that has shipped is never edited.
 * Written in Kysely's schema builder so that a PostgreSQL dialect runs the same ones.
 */
import type { Kysely, Migration, MigrationProvider } from "kysely";
import { autoIncrementId } from "./dialect.js";
import { autoscalingMigration } from "./migrations/0009-autoscaling.js";
import { eksMigration } from "./migrations/0010-eks.js";
import { elbAttributesMigration } from "./migrations/0011-elb-attributes.js";
import { ecsAccountSettingsMigration } from "./migrations/0012-ecs-account-settings.js";
import { agentIdentityMigration } from "./migrations/0013-agent-identity.js";
import { leasesMigration } from "./migrations/0014-leases.js";
import { serversMigration } from "./migrations/0015-servers.js";
import { certificateAuthorityMigration } from "./migrations/0016-certificate-authority.js";
import { hostTaskStorageMigration } from "./migrations/0022-host-task-storage.js";
import { iamMigration } from "./migrations/0019-iam.js";
import { consoleSessionsMigration } from "./migrations/0021-console-sessions.js";
import { taskSubnetsMigration } from "./migrations/0017-task-subnets.js";
import { hostReservationsMigration } from "./migrations/0024-host-reservations.js";
import { schedulerMigration } from "./migrations/0025-scheduler.js";
import { consoleLinksMigration } from "./migrations/0026-console-links.js";
import { secretsMigration } from "./migrations/0018-secrets.js";
import { usageSamplesMigration } from "./migrations/0027-usage-samples.js";
import { hostLivenessMigration } from "./migrations/0028-host-liveness.js";
import { metricDatapointsMigration } from "./migrations/0029-metric-datapoints.js";
import { consoleChangesMigration } from "./migrations/0030-console-changes.js";
import { responseTimesMigration } from "./migrations/0031-response-times.js";
import { taskGroupHostsMigration } from "./migrations/0032-task-group-hosts.js";

const migrations: Record<string, Migration> = {
  "0001-ecs-foundation": {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable("clusters")
        .addColumn("name", "text", (c) => c.primaryKey())
        .addColumn("arn", "text", (c) => c.notNull().unique())
        .addColumn("status", "text", (c) => c.notNull())
        .addColumn("document", "text", (c) => c.notNull())
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("updated_at", "bigint", (c) => c.notNull())
        .execute();
      await db.schema
        .createTable("task_definitions")
        .addColumn("family", "text", (c) => c.notNull())
        .addColumn("revision", "integer", (c) => c.notNull())
        .addColumn("arn", "text", (c) => c.notNull().unique())
        .addColumn("status", "text", (c) => c.notNull())
        .addColumn("document", "text", (c) => c.notNull())
        .addColumn("registered_at", "bigint", (c) => c.notNull())
        .addColumn("deregistered_at", "bigint")
        .addPrimaryKeyConstraint("task_definitions_pk", ["family", "revision"])
        .execute();
      await db.schema
        .createIndex("task_definitions_status")
        .on("task_definitions")
        .columns(["status", "family"])
        .execute();
      await db.schema
        .createTable("tags")
        .addColumn("resource_arn", "text", (c) => c.notNull())
        .addColumn("key", "text", (c) => c.notNull())
        .addColumn("value", "text", (c) => c.notNull())
        .addPrimaryKeyConstraint("tags_pk", ["resource_arn", "key"])
        .execute();
      await db.schema
        .createTable("idempotency")
        .addColumn("scope", "text", (c) => c.notNull())
        .addColumn("token", "text", (c) => c.notNull())
        .addColumn("request_hash", "text", (c) => c.notNull())
        .addColumn("response", "text", (c) => c.notNull())
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addPrimaryKeyConstraint("idempotency_pk", ["scope", "token"])
        .execute();
    },
  },
  "0002-registry": {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable("registry_repositories")
        .addColumn("name", "text", (c) => c.primaryKey())
        .addColumn("arn", "text", (c) => c.notNull().unique())
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("tag_mutability", "text", (c) => c.notNull())
        .addColumn("document", "text", (c) => c.notNull())
        .addColumn("lifecycle_policy", "text")
        .addColumn("lifecycle_evaluated_at", "bigint")
        .addColumn("lifecycle_preview", "text")
        .execute();
      await db.schema
        .createTable("registry_manifests")
        .addColumn("repository", "text", (c) => c.notNull())
        .addColumn("digest", "text", (c) => c.notNull())
        .addColumn("media_type", "text", (c) => c.notNull())
        .addColumn("artifact_type", "text")
        .addColumn("size", "bigint", (c) => c.notNull())
        .addColumn("image_size", "bigint", (c) => c.notNull())
        .addColumn("subject", "text")
        .addColumn("annotations", "text")
        .addColumn("pushed_at", "bigint", (c) => c.notNull())
        .addColumn("last_pulled_at", "bigint")
        .addPrimaryKeyConstraint("registry_manifests_pk", ["repository", "digest"])
        .execute();
      await db.schema
        .createIndex("registry_manifests_subject")
        .on("registry_manifests")
        .columns(["repository", "subject"])
        .execute();
      await db.schema
        .createTable("registry_tags")
        .addColumn("repository", "text", (c) => c.notNull())
        .addColumn("tag", "text", (c) => c.notNull())
        .addColumn("digest", "text", (c) => c.notNull())
        .addColumn("updated_at", "bigint", (c) => c.notNull())
        .addPrimaryKeyConstraint("registry_tags_pk", ["repository", "tag"])
        .execute();
      await db.schema
        .createIndex("registry_tags_digest")
        .on("registry_tags")
        .columns(["repository", "digest"])
        .execute();
      await db.schema
        .createTable("registry_manifest_refs")
        .addColumn("repository", "text", (c) => c.notNull())
        .addColumn("manifest", "text", (c) => c.notNull())
        .addColumn("child", "text", (c) => c.notNull())
        .addPrimaryKeyConstraint("registry_manifest_refs_pk", ["repository", "manifest", "child"])
        .execute();
      await db.schema
        .createIndex("registry_manifest_refs_child")
        .on("registry_manifest_refs")
        .columns(["child", "repository"])
        .execute();
      await db.schema
        .createTable("registry_blob_links")
        .addColumn("repository", "text", (c) => c.notNull())
        .addColumn("digest", "text", (c) => c.notNull())
        .addColumn("size", "bigint", (c) => c.notNull())
        .addColumn("linked_at", "bigint", (c) => c.notNull())
        .addPrimaryKeyConstraint("registry_blob_links_pk", ["repository", "digest"])
        .execute();
      await db.schema
        .createIndex("registry_blob_links_digest")
        .on("registry_blob_links")
        .columns(["digest"])
        .execute();
    },
  },
  "0003-tasks": {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable("hosts")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("availability_zone", "text", (c) => c.notNull())
        .addColumn("cpu", "integer", (c) => c.notNull())
        .addColumn("memory", "integer", (c) => c.notNull())
        .addColumn("status", "text", (c) => c.notNull())
        .addColumn("last_seen_at", "bigint", (c) => c.notNull())
        .addColumn("last_seq", "bigint", (c) => c.notNull())
        .addColumn("registered_at", "bigint", (c) => c.notNull())
        .execute();
      await db.schema
        .createTable("agent_tokens")
        .addColumn("token_hash", "text", (c) => c.primaryKey())
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .execute();
      await db.schema
        .createTable("tasks")
        .addColumn("arn", "text", (c) => c.primaryKey())
        .addColumn("id", "text", (c) => c.notNull().unique())
        .addColumn("cluster_name", "text", (c) => c.notNull())
        .addColumn("family", "text", (c) => c.notNull())
        .addColumn("task_definition_arn", "text", (c) => c.notNull())
        .addColumn("last_status", "text", (c) => c.notNull())
        .addColumn("desired_status", "text", (c) => c.notNull())
        .addColumn("host_id", "text")
        .addColumn("cpu", "integer", (c) => c.notNull())
        .addColumn("memory", "integer", (c) => c.notNull())
        .addColumn("started_by", "text")
        .addColumn("group_name", "text", (c) => c.notNull())
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("stopped_at", "bigint")
        .addColumn("version", "integer", (c) => c.notNull())
        .addColumn("document", "text", (c) => c.notNull())
        .addColumn("assignment", "text", (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex("tasks_cluster")
        .on("tasks")
        .columns(["cluster_name", "desired_status"])
        .execute();
      await db.schema
        .createIndex("tasks_host")
        .on("tasks")
        .columns(["host_id", "last_status"])
        .execute();
    },
  },
  "0004-billing": {
    async up(db: Kysely<unknown>): Promise<void> {
      // One row per billed task, written once when it stops (billing issue).
      await db.schema
        .createTable("task_usage")
        .addColumn("task_arn", "text", (c) => c.primaryKey())
        .addColumn("cluster_arn", "text", (c) => c.notNull())
        .addColumn("group_name", "text")
        .addColumn("task_definition_arn", "text", (c) => c.notNull())
        .addColumn("family", "text", (c) => c.notNull())
        .addColumn("tags", "text", (c) => c.notNull())
        .addColumn("cpu", "integer", (c) => c.notNull())
        .addColumn("memory_mib", "integer", (c) => c.notNull())
        .addColumn("ephemeral_storage_gib", "integer", (c) => c.notNull())
        .addColumn("cpu_architecture", "text", (c) => c.notNull())
        .addColumn("capacity_provider", "text", (c) => c.notNull())
        .addColumn("pull_started_at", "bigint", (c) => c.notNull())
        .addColumn("stopped_at", "bigint", (c) => c.notNull())
        .addColumn("billed_seconds", "integer", (c) => c.notNull())
        .addColumn("billed_until", "bigint", (c) => c.notNull())
        .addColumn("recorded_at", "bigint", (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex("task_usage_window")
        .on("task_usage")
        .columns(["pull_started_at", "billed_until"])
        .execute();
    },
  },
  "0006-services": {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable("services")
        .addColumn("arn", "text", (c) => c.primaryKey())
        .addColumn("cluster_name", "text", (c) => c.notNull())
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("status", "text", (c) => c.notNull())
        .addColumn("desired_count", "integer", (c) => c.notNull())
        .addColumn("document", "text", (c) => c.notNull())
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("updated_at", "bigint", (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex("services_cluster")
        .on("services")
        .columns(["cluster_name", "status"])
        .execute();
      await db.schema
        .createIndex("tasks_group")
        .on("tasks")
        .columns(["cluster_name", "group_name", "last_status"])
        .execute();
    },
  },
  "0005-logs": {
    async up(db: Kysely<unknown>): Promise<void> {
      // CloudWatch Logs (services/logs). Ids are AUTOINCREMENT so a deleted group's or stream's
      // id (and so its tokens) never names a new one (identity columns on PostgreSQL).
      // (This migration shipped; the SQL it runs on SQLite is unchanged by naming the dialect.)
      const counter = autoIncrementId(db);
      await db.schema
        .createTable("log_groups")
        .addColumn("id", counter.type, counter.build)
        .addColumn("name", "text", (c) => c.notNull().unique())
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("retention_days", "integer")
        .addColumn("kms_key_id", "text")
        .addColumn("stored_bytes", "bigint", (c) => c.notNull())
        .addColumn("tags", "text", (c) => c.notNull())
        .execute();
      await db.schema
        .createTable("log_streams")
        .addColumn("id", counter.type, counter.build)
        .addColumn("group_id", "integer", (c) => c.notNull())
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("first_event_at", "bigint")
        .addColumn("last_event_at", "bigint")
        .addColumn("last_ingestion_at", "bigint")
        .addColumn("append_offset", "bigint")
        .addUniqueConstraint("log_streams_group_name", ["group_id", "name"])
        .execute();
      await db.schema
        .createTable("log_events")
        .addColumn("seq", counter.type, counter.build)
        .addColumn("group_id", "integer", (c) => c.notNull())
        .addColumn("stream_id", "integer", (c) => c.notNull())
        .addColumn("timestamp", "bigint", (c) => c.notNull())
        .addColumn("ingested_at", "bigint", (c) => c.notNull())
        .addColumn("message", "text", (c) => c.notNull())
        .execute();
      // GetLogEvents reads one stream in (timestamp, seq) order; FilterLogEvents and the
      // retention sweep read a whole group in that order.
      await db.schema
        .createIndex("log_events_stream")
        .on("log_events")
        .columns(["group_id", "stream_id", "timestamp", "seq"])
        .execute();
      await db.schema
        .createIndex("log_events_group")
        .on("log_events")
        .columns(["group_id", "timestamp", "seq"])
        .execute();
    },
  },
  "0007-capacity-providers": {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .alterTable("hosts")
        .addColumn("capacity_providers", "text", (c) => c.notNull().defaultTo('["FARGATE"]'))
        .execute();
    },
  },
  "0008-elbv2": {
    async up(db: Kysely<unknown>): Promise<void> {
      // Elastic Load Balancing v2 (services/elbv2); tags live in the shared `tags` table.
      await db.schema
        .createTable("elb_load_balancers")
        .addColumn("arn", "text", (c) => c.primaryKey())
        .addColumn("name", "text", (c) => c.notNull().unique())
        .addColumn("document", "text", (c) => c.notNull())
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .execute();
      await db.schema
        .createTable("elb_target_groups")
        .addColumn("arn", "text", (c) => c.primaryKey())
        .addColumn("name", "text", (c) => c.notNull().unique())
        .addColumn("document", "text", (c) => c.notNull())
        .addColumn("attributes", "text", (c) => c.notNull())
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .execute();
      await db.schema
        .createTable("elb_listeners")
        .addColumn("arn", "text", (c) => c.primaryKey())
        .addColumn("load_balancer_arn", "text", (c) => c.notNull())
        .addColumn("port", "integer", (c) => c.notNull())
        .addColumn("document", "text", (c) => c.notNull())
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addUniqueConstraint("elb_listeners_port", ["load_balancer_arn", "port"])
        .execute();
      await db.schema
        .createTable("elb_rules")
        .addColumn("arn", "text", (c) => c.primaryKey())
        .addColumn("listener_arn", "text", (c) => c.notNull())
        .addColumn("priority", "integer", (c) => c.notNull())
        .addColumn("document", "text", (c) => c.notNull())
        .addUniqueConstraint("elb_rules_priority", ["listener_arn", "priority"])
        .execute();
      await db.schema
        .createTable("elb_targets")
        .addColumn("target_group_arn", "text", (c) => c.notNull())
        .addColumn("id", "text", (c) => c.notNull())
        .addColumn("port", "integer", (c) => c.notNull())
        .addColumn("availability_zone", "text")
        .addColumn("task_arn", "text")
        .addColumn("registered_at", "bigint", (c) => c.notNull())
        .addColumn("draining_until", "bigint")
        .addPrimaryKeyConstraint("elb_targets_pk", ["target_group_arn", "id", "port"])
        .execute();
    },
  },
  "0009-autoscaling": autoscalingMigration,
  "0010-eks": eksMigration,
  "0011-elb-attributes": elbAttributesMigration,
  "0012-ecs-account-settings": ecsAccountSettingsMigration,
  "0013-agent-identity": agentIdentityMigration,
  "0014-leases": leasesMigration,
  "0015-servers": serversMigration,
  "0016-certificate-authority": certificateAuthorityMigration,
  "0022-host-task-storage": hostTaskStorageMigration,
  "0019-iam": iamMigration,
  "0021-console-sessions": consoleSessionsMigration,
  "0017-task-subnets": taskSubnetsMigration,
  "0024-host-reservations": hostReservationsMigration,
  "0025-scheduler": schedulerMigration,
  "0026-console-links": consoleLinksMigration,
  "0018-secrets": secretsMigration,
  "0027-usage-samples": usageSamplesMigration,
  "0028-host-liveness": hostLivenessMigration,
  "0029-metric-datapoints": metricDatapointsMigration,
  "0030-console-changes": consoleChangesMigration,
  "0031-response-times": responseTimesMigration,
  "0032-task-group-hosts": taskGroupHostsMigration,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
};
