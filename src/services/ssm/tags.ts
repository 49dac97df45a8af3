/** Tags on parameters (AddTagsToResource, ListTagsForResource, RemoveTagsFromResource). */
import type * as ssm from "@aws-sdk/client-ssm";
import { AwsError, type RequestContext, type Handlers } from "../../aws/index.js";
import {
  fromKeyValue,
  putTags,
  readTags,
  removeTags,
  toKeyValue,
  type Store,
} from "../../store/index.js";
import { invalidResourceId, invalidResourceType } from "./errors.js";
import { parameterName } from "./records.js";

const MAX_TAGS = 50;

export function tagHandlers(store: Store) {
  /** The ARN of the parameter a request names; Parameter is the one type Berth keeps. */
  const resourceArn = async (
    input: { ResourceType?: string; ResourceId?: string },
    ctx: RequestContext,
  ): Promise<string> => {
    if (input.ResourceType !== "Parameter") throw invalidResourceType();
    const name = parameterName(ctx.identity, input.ResourceId ?? "");
    const row = await store
      .selectFrom("ssm_parameters")
      .select("arn")
      .where("name", "=", name)
      .executeTakeFirstOrThrow(() => invalidResourceId());
    return row.arn;
  };

  return {
    addTagsToResource: async (input, ctx) => {
      const arn = await resourceArn(input, ctx);
      const held = await readTags(store, arn);
      const keys = new Set([
        ...held.map((t) => t.key),
        ...(input.Tags ?? []).map((t) => t.Key ?? ""),
      ]);
      if (keys.size > MAX_TAGS)
        throw new AwsError(
          "TooManyTagsError",
          `You can add at most ${MAX_TAGS} tags to a resource.`,
        );
      await store.transaction().execute((trx) => putTags(trx, arn, fromKeyValue(input.Tags ?? [])));
      return {};
    },

    listTagsForResource: async (input, ctx) => {
      const arn = await resourceArn(input, ctx);
      return { TagList: toKeyValue(await readTags(store, arn)) };
    },

    removeTagsFromResource: async (input, ctx) => {
      await removeTags(store, await resourceArn(input, ctx), input.TagKeys ?? []);
      return {};
    },
  } satisfies Handlers<ssm.SSM>;
}
