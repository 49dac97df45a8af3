/**
 * The one home of the shared `tags` table (tags of every service's resources and of tasks): each
 * service checks its own rules first (reserved keys, its limit, its error, its wire shape), then
 * reads and writes its tags here; a key the resource has takes the new value.
 */
import type { Kysely } from "kysely";
import type { Database } from "./schema.js";

export interface TagEntry {
  key: string;
  value: string;
}

/** Tags in the `Key`/`Value` form most AWS models use. */
export interface KeyValueTag {
  Key?: string;
  Value?: string;
}

/** `Key`/`Value` tags as the store keeps them. */
export const fromKeyValue = (tags: readonly KeyValueTag[]): TagEntry[] =>
  tags.map((tag) => ({ key: tag.Key ?? "", value: tag.Value ?? "" }));

/** Stored tags in the `Key`/`Value` form. */
export const toKeyValue = (tags: readonly TagEntry[]): Array<{ Key: string; Value: string }> =>
  tags.map((tag) => ({ Key: tag.key, Value: tag.value }));

/** Upserts `tags` on `resourceArn` and answers how many tags the resource has now. */
export async function putTags(
  db: Kysely<Database>,
  resourceArn: string,
  tags: readonly TagEntry[],
): Promise<number> {
  for (const { key, value } of tags)
    await db
      .insertInto("tags")
      .values({ resource_arn: resourceArn, key, value })
      .onConflict((oc) => oc.columns(["resource_arn", "key"]).doUpdateSet({ value }))
      .execute();
  const { count } = await db
    .selectFrom("tags")
    .select((eb) => eb.fn.countAll<number>().as("count"))
    .where("resource_arn", "=", resourceArn)
    .executeTakeFirstOrThrow();
  return Number(count);
}

/** The tags of `resourceArn`, in key order. */
export async function readTags(db: Kysely<Database>, resourceArn: string): Promise<TagEntry[]> {
  return db
    .selectFrom("tags")
    .select(["key", "value"])
    .where("resource_arn", "=", resourceArn)
    .orderBy("key")
    .execute();
}

/** Removes `keys` (those it has) from `resourceArn`. */
export async function removeTags(
  db: Kysely<Database>,
  resourceArn: string,
  keys: readonly string[],
): Promise<void> {
  if (keys.length === 0) return;
  await db
    .deleteFrom("tags")
    .where("resource_arn", "=", resourceArn)
    .where("key", "in", keys)
    .execute();
}

/** Drops every tag of `resourceArns` (the resources are gone). */
export async function dropTags(
  db: Kysely<Database>,
  resourceArns: readonly string[],
): Promise<void> {
  if (resourceArns.length === 0) return;
  await db.deleteFrom("tags").where("resource_arn", "in", resourceArns).execute();
}
