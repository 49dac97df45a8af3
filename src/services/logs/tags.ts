/**
 * Tags on log groups: TagResource, UntagResource and ListTagsForResource by the group's ARN,
 * and the older TagLogGroup, UntagLogGroup and ListTagsLogGroup by name. Kept and returned; nothing is enforced by them.
 */
import type { CloudWatchLogs } from "@aws-sdk/client-cloudwatch-logs";
import { AwsError, type RequestContext, type Empty, type Handlers } from "../../aws/index.js";
import type { Store } from "../../store/index.js";
import { requireGroup, requireGroupByIdentifier, type GroupRow } from "./resources.js";

const MAX_TAGS = 50;

/** The group an ARN names (`log-group:NAME`, with or without `:*`). */
function groupOf(store: Store, ctx: RequestContext, resourceArn: string): Promise<GroupRow> {
  return requireGroupByIdentifier(store, ctx.identity, { logGroupIdentifier: resourceArn });
}

async function writeTags(store: Store, group: GroupRow, tags: Record<string, string>) {
  await store
    .updateTable("log_groups")
    .set({ tags: JSON.stringify(tags) })
    .where("id", "=", group.id)
    .execute();
}

const tagsOf = (group: GroupRow): Record<string, string> =>
  JSON.parse(group.tags) as Record<string, string>;

/** Adds or replaces tags: the one write behind TagResource and the older TagLogGroup. */
async function addTags(
  store: Store,
  group: GroupRow,
  added: Record<string, string> | undefined,
  tooMany: (message: string) => AwsError,
): Promise<Empty> {
  const tags = { ...tagsOf(group), ...added };
  if (Object.keys(tags).length > MAX_TAGS)
    throw tooMany(`A resource can have at most ${MAX_TAGS} tags.`);
  await writeTags(store, group, tags);
  return {};
}

async function removeTags(store: Store, group: GroupRow, keys: string[] | undefined) {
  const tags = tagsOf(group);
  for (const key of keys ?? []) delete tags[key];
  await writeTags(store, group, tags);
  return {};
}

export function tagHandlers(store: Store) {
  return {
    tagResource: async (input, ctx) =>
      // AWS's text for this case is not recorded; the code is the model's.
      addTags(
        store,
        await groupOf(store, ctx, input.resourceArn as string),
        input.tags,
        (message) => new AwsError("TooManyTagsException", message),
      ),

    untagResource: async (input, ctx) =>
      removeTags(store, await groupOf(store, ctx, input.resourceArn as string), input.tagKeys),

    /** The older form by group name (deprecated by AWS, still used by tools). */
    tagLogGroup: async (input) =>
      // The model lists no TooManyTagsException for TagLogGroup: InvalidParameterException.
      addTags(
        store,
        await requireGroup(store, input.logGroupName as string),
        input.tags,
        (message) => new AwsError("InvalidParameterException", message),
      ),

    untagLogGroup: async (input) =>
      removeTags(store, await requireGroup(store, input.logGroupName as string), input.tags),

    listTagsForResource: async (input, ctx) => {
      const group = await groupOf(store, ctx, input.resourceArn as string);
      return { tags: tagsOf(group) };
    },

    listTagsLogGroup: async (input) => {
      const group = await requireGroup(store, input.logGroupName as string);
      return { tags: tagsOf(group) };
    },
  } satisfies Handlers<CloudWatchLogs>;
}
