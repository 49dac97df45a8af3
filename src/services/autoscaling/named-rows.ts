/**
 * Scaling policies and scheduled actions are kept alike: rows named within one scalable
 * resource, each holding the document its Describe call returns. Finding, listing and saving
 * them is the same for both tables.
 */
import type { DescribeScalingPoliciesRequest } from "@aws-sdk/client-application-auto-scaling";
import { resourceColumns, type ScalableResource } from "../../control/index.js";
import type { Store } from "../../store/index.js";
import { checkNamespace, pageOf } from "./scope.js";

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

/** A Describe call's page of documents, oldest first, for its namespace (and resource, names). */
export async function describeNamed(
  store: Store,
  table: NamedTable,
  input: DescribeScalingPoliciesRequest,
  names: string[] = [],
): Promise<{ items: string[]; NextToken?: string }> {
  checkNamespace(input.ServiceNamespace, input.ScalableDimension);
  let query = store
    .selectFrom(table)
    .select("document")
    .where("namespace", "=", input.ServiceNamespace ?? "")
    .orderBy("created_at")
    .orderBy("arn");
  if (input.ResourceId !== undefined) query = query.where("resource_id", "=", input.ResourceId);
  if (names.length > 0) query = query.where("name", "in", names);
  const rows = await query.execute();
  return pageOf(
    rows.map((row) => row.document),
    input,
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
