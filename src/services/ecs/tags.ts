/**
 * Tags on ECS resources (clusters, services, task definitions, tasks), kept in one table keyed
 * by resource ARN. ECS allows 50 per resource.
 */
import type { ECS, Tag } from "@aws-sdk/client-ecs";
import type { Handlers } from "../../aws/index.js";
import { parseArn } from "../../core/index.js";
import { putTags, readTags, removeTags, type Store, type TagEntry } from "../../store/index.js";
import { invalidParameter, serviceNotFound } from "./errors.js";

const MAX_TAGS = 50;
const tooManyTags = () => invalidParameter(`The resource can have at most ${MAX_TAGS} tags.`);

/** ECS's rules for tags a caller gives (TagResource, RunTask, CreateService...). */
export function checkTags(tags: readonly Tag[]): void {
  for (const tag of tags) {
    if (tag.key?.toLowerCase().startsWith("aws:"))
      throw invalidParameter("Tag keys beginning with 'aws:' are reserved for AWS use.");
  }
  if (new Set(tags.map((tag) => tag.key)).size > MAX_TAGS) throw tooManyTags();
}

/** `tags` as the store keeps them. */
export const tagEntries = (tags: readonly Tag[]): TagEntry[] =>
  tags.map((tag) => ({ key: tag.key ?? "", value: tag.value ?? "" }));

export async function writeTags(
  store: Store,
  resourceArn: string,
  tags: Tag[] | undefined,
): Promise<void> {
  if (tags === undefined || tags.length === 0) return;
  checkTags(tags);
  await store.transaction().execute(async (trx) => {
    // Throwing inside the transaction rolls the whole TagResource back.
    if ((await putTags(trx, resourceArn, tagEntries(tags))) > MAX_TAGS) throw tooManyTags();
  });
}

/** Whether `resourceArn` names an ECS resource that exists (and may carry tags). */
async function assertTaggable(store: Store, resourceArn: string): Promise<void> {
  const parsed = parseArn(resourceArn);
  if (parsed === undefined || parsed.service !== "ecs")
    throw invalidParameter("The ARN provided is invalid.");
  if (parsed.resource.startsWith("cluster/")) {
    const cluster = await store
      .selectFrom("clusters")
      .select("status")
      .where("arn", "=", resourceArn)
      .executeTakeFirst();
    if (cluster?.status !== "ACTIVE")
      throw invalidParameter(
        "The specified cluster is inactive. Specify an active cluster and try again.",
      );
    return;
  }
  if (parsed.resource.startsWith("task-definition/")) {
    const definition = await store
      .selectFrom("task_definitions")
      .select("status")
      .where("arn", "=", resourceArn)
      .executeTakeFirst();
    if (definition === undefined || definition.status === "DELETE_IN_PROGRESS")
      throw invalidParameter("The specified task definition does not exist.");
    return;
  }
  if (parsed.resource.startsWith("task/")) {
    await store
      .selectFrom("tasks")
      .select("arn")
      .where("arn", "=", resourceArn)
      .executeTakeFirstOrThrow(() => invalidParameter("The specified task does not exist."));
    return;
  }
  if (parsed.resource.startsWith("service/")) {
    const service = await store
      .selectFrom("services")
      .select("status")
      .where("arn", "=", resourceArn)
      .executeTakeFirst();
    // ECS's text for a missing service here is not recorded; this is ServiceNotFound's own.
    if (service === undefined || service.status === "INACTIVE") throw serviceNotFound();
    return;
  }
  // FARGATE and FARGATE_SPOT, Berth's only capacity providers, are AWS's own: not taggable.
  throw invalidParameter("The ARN provided is invalid.");
}

export function tagHandlers(store: Store) {
  return {
    tagResource: async (input) => {
      const resourceArn = input.resourceArn ?? "";
      await assertTaggable(store, resourceArn);
      await writeTags(store, resourceArn, input.tags);
      return {};
    },
    untagResource: async (input) => {
      const resourceArn = input.resourceArn ?? "";
      await assertTaggable(store, resourceArn);
      await removeTags(store, resourceArn, input.tagKeys ?? []);
      return {};
    },
    listTagsForResource: async (input) => {
      const resourceArn = input.resourceArn ?? "";
      await assertTaggable(store, resourceArn);
      return { tags: await readTags(store, resourceArn) };
    },
  } satisfies Handlers<ECS>;
}
