/**
 * Tags on schedule groups (the only resource Scheduler tags: its model's TagResourceArn names
 * schedule groups alone), as Key/Value pairs over the shared `tags` table.
 */
import type { Handlers } from "../../aws/index.js";
import type { Scheduler, Tag } from "@aws-sdk/client-scheduler";
import type { Kysely } from "kysely";
import {
  fromKeyValue,
  putTags,
  readTags,
  removeTags,
  toKeyValue,
  type Database,
  type Store,
} from "../../store/index.js";
import { groupNotFound, invalid } from "./errors.js";

export async function writeTags(
  db: Kysely<Database>,
  resourceArn: string,
  tags: Tag[],
): Promise<void> {
  for (const tag of tags)
    if ((tag.Key ?? "").toLowerCase().startsWith("aws:"))
      throw invalid("Tag keys beginning with 'aws:' are reserved for AWS use.");
  await putTags(db, resourceArn, fromKeyValue(tags));
}

async function assertGroup(store: Store, resourceArn: string): Promise<void> {
  await store
    .selectFrom("schedule_groups")
    .select("name")
    .where("arn", "=", resourceArn)
    .executeTakeFirstOrThrow(() => groupNotFound(resourceArn.split("/").pop() ?? resourceArn));
}

export function tagHandlers(store: Store) {
  return {
    tagResource: async (input) => {
      const resourceArn = input.ResourceArn ?? "";
      await assertGroup(store, resourceArn);
      await store.transaction().execute((trx) => writeTags(trx, resourceArn, input.Tags ?? []));
      return {};
    },
    untagResource: async (input) => {
      const resourceArn = input.ResourceArn ?? "";
      await assertGroup(store, resourceArn);
      await removeTags(store, resourceArn, input.TagKeys ?? []);
      return {};
    },
    listTagsForResource: async (input) => {
      const resourceArn = input.ResourceArn ?? "";
      await assertGroup(store, resourceArn);
      return { Tags: toKeyValue(await readTags(store, resourceArn)) };
    },
  } satisfies Handlers<Scheduler>;
}
