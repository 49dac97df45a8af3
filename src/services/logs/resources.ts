/**
 * Log groups and streams as rows and as AWS shapes: lookups by name or ARN, ARNs, retention
 * values and the time window an event must fall in to be kept.
 */
import type { LogGroup, LogStream } from "@aws-sdk/client-cloudwatch-logs";
import { arn, parseArn, type Identity } from "../../core/index.js";
import type { LogGroupTable, LogStreamTable, Store } from "../../store/index.js";
import {
  logGroupNotFound,
  logStreamNotFound,
  nameAndIdentifier,
  nameOrIdentifierMissing,
} from "./errors.js";
import { sequenceToken } from "./tokens.js";

export type GroupRow = Omit<LogGroupTable, "id"> & { id: number };
export type StreamRow = Omit<LogStreamTable, "id"> & { id: number };

export const DAY_MS = 24 * 60 * 60 * 1000;

/** The retention values PutRetentionPolicy accepts, as AWS lists them. */
export const RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288,
  3653,
] as const;

/** Events older than this (ms since the epoch) are past the group's retention; 0 if none. */
export function retentionCutoff(group: Pick<GroupRow, "retention_days">, now: Date): number {
  return group.retention_days === null ? 0 : now.getTime() - group.retention_days * DAY_MS;
}

export function groupArn(identity: Identity, name: string): string {
  return arn(identity, "logs", `log-group:${name}`);
}

export function toLogGroup(row: GroupRow, identity: Identity): LogGroup {
  return {
    logGroupName: row.name,
    creationTime: row.created_at,
    ...(row.retention_days === null ? {} : { retentionInDays: row.retention_days }),
    metricFilterCount: 0,
    arn: `${groupArn(identity, row.name)}:*`,
    storedBytes: row.stored_bytes,
    ...(row.kms_key_id === null ? {} : { kmsKeyId: row.kms_key_id }),
    logGroupClass: "STANDARD",
    logGroupArn: groupArn(identity, row.name),
    deletionProtectionEnabled: false,
  };
}

export function toLogStream(row: StreamRow, groupName: string, identity: Identity): LogStream {
  return {
    logStreamName: row.name,
    creationTime: row.created_at,
    ...(row.first_event_at === null ? {} : { firstEventTimestamp: row.first_event_at }),
    ...(row.last_event_at === null ? {} : { lastEventTimestamp: row.last_event_at }),
    ...(row.last_ingestion_at === null
      ? {}
      : { lastIngestionTime: row.last_ingestion_at, uploadSequenceToken: sequenceToken(row.id) }),
    arn: `${groupArn(identity, groupName)}:log-stream:${row.name}`,
    // AWS has reported 0 for streams since 2019; the group carries the bytes.
    storedBytes: 0,
  };
}

export async function findGroup(store: Store, name: string): Promise<GroupRow | undefined> {
  return store.selectFrom("log_groups").selectAll().where("name", "=", name).executeTakeFirst();
}

export async function requireGroup(store: Store, name: string): Promise<GroupRow> {
  const group = await findGroup(store, name);
  if (group === undefined) throw logGroupNotFound();
  return group;
}

/**
 * The group a request names by `logGroupName` or `logGroupIdentifier` (a name or an ARN, with
 * or without the trailing `:*`). An ARN of another account or region names no group here.
 */
export async function requireGroupByIdentifier(
  store: Store,
  identity: Identity,
  input: { logGroupName?: string; logGroupIdentifier?: string },
): Promise<GroupRow> {
  const { logGroupName, logGroupIdentifier } = input;
  if (logGroupName !== undefined && logGroupIdentifier !== undefined) throw nameAndIdentifier();
  if (logGroupName !== undefined) return requireGroup(store, logGroupName);
  if (logGroupIdentifier === undefined) throw nameOrIdentifierMissing();
  if (!logGroupIdentifier.startsWith("arn:")) return requireGroup(store, logGroupIdentifier);
  const parsed = parseArn(logGroupIdentifier);
  const resource = parsed?.resource.replace(/:\*$/, "");
  if (
    parsed?.service !== "logs" ||
    parsed.accountId !== identity.accountId ||
    parsed.region !== identity.region ||
    resource === undefined ||
    !resource.startsWith("log-group:")
  )
    throw logGroupNotFound();
  return requireGroup(store, resource.slice("log-group:".length));
}

export async function findStream(
  store: Store,
  groupId: number,
  name: string,
): Promise<StreamRow | undefined> {
  return store
    .selectFrom("log_streams")
    .selectAll()
    .where("group_id", "=", groupId)
    .where("name", "=", name)
    .executeTakeFirst();
}

export async function requireStream(
  store: Store,
  groupId: number,
  name: string,
): Promise<StreamRow> {
  const stream = await findStream(store, groupId, name);
  if (stream === undefined) throw logStreamNotFound();
  return stream;
}
