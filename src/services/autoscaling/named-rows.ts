/**
 * Scaling policies and scheduled actions are kept alike: rows named within one scalable
 * resource, each holding the document its Describe call returns. Finding, listing and saving
 * them is the same for both tables.
 */
import { resourceColumns, type ScalableResource } from "../../control/index.js";
import type { Store } from "../../store/index.js";
import { pageOf } from "./scope.js";

type NamedTable = "scaling_policies" | "scheduled_actions";

export function findNamed(
  store: Store,
  table: NamedTable,
  resource: ScalableResource,
  name: string,
): Promise<{ arn: string; document: string } | undefined> {
  return store
    .selectFrom(table)
    .select(["arn", "document"])
    .where("namespace", "=", resource.namespace)
    .where("resource_id", "=", resource.resourceId)
    .where("dimension", "=", resource.dimension)
    .where("name", "=", name)
    .executeTakeFirst();
}

/** A Describe call's page of documents, oldest first, for a namespace (and resource, names). */
export async function describeNamed(
  store: Store,
  table: NamedTable,
  filter: { namespace: string; resourceId?: string; names: string[] },
  nextToken: string | undefined,
  maxResults: number | undefined,
): Promise<{ items: string[]; NextToken?: string }> {
  let query = store
    .selectFrom(table)
    .select("document")
    .where("namespace", "=", filter.namespace)
    .orderBy("created_at")
    .orderBy("arn");
  if (filter.resourceId !== undefined) query = query.where("resource_id", "=", filter.resourceId);
  if (filter.names.length > 0) query = query.where("name", "in", filter.names);
  const rows = await query.execute();
  return pageOf(
    rows.map((row) => row.document),
    nextToken,
    maxResults,
  );
}

/** Writes a new row, or the document of the row `existing` names. */
export async function saveNamed(
  store: Store,
  table: NamedTable,
  existing: boolean,
  row: { arn: string; resource: ScalableResource; name: string; document: string; now: Date },
): Promise<void> {
  if (existing) {
    await store
      .updateTable(table)
      .set({ document: row.document })
      .where("arn", "=", row.arn)
      .execute();
    return;
  }
  await store
    .insertInto(table)
    .values({
      arn: row.arn,
      ...resourceColumns(row.resource),
      name: row.name,
      document: row.document,
      created_at: row.now.getTime(),
    })
    .execute();
}
