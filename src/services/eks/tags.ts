/**
 * Tags on EKS clusters and Fargate profiles: EKS's map form over the shared `tags` table.
 * EKS allows 50 per resource and reserves the `aws:` prefix.
 */
import type { EKS } from "@aws-sdk/client-eks";
import { AwsError, type AwsErrorCode, type Handlers } from "../../aws/index.js";
import { putTags, readTags, removeTags, type Store } from "../../store/index.js";

const MAX_TAGS = 50;

export async function readTagMap(
  store: Store,
  resourceArn: string,
): Promise<Record<string, string>> {
  const tags = await readTags(store, resourceArn);
  return Object.fromEntries(tags.map((tag) => [tag.key, tag.value]));
}

export async function writeTagMap(
  store: Store,
  resourceArn: string,
  tags: Record<string, string> | undefined,
  errorCode: AwsErrorCode = "InvalidParameterException",
): Promise<void> {
  const entries = Object.entries(tags ?? {});
  if (entries.length === 0) return;
  for (const [key] of entries)
    if (key.toLowerCase().startsWith("aws:"))
      throw new AwsError(errorCode, "Tag keys beginning with 'aws:' are reserved for AWS use.");
  await store.transaction().execute(async (trx) => {
    const count = await putTags(
      trx,
      resourceArn,
      entries.map(([key, value]) => ({ key, value })),
    );
    if (count > MAX_TAGS)
      throw new AwsError(errorCode, `The resource can have at most ${MAX_TAGS} tags.`);
  });
}

async function assertExists(store: Store, resourceArn: string): Promise<void> {
  const cluster = await store
    .selectFrom("eks_clusters")
    .select("name")
    .where("arn", "=", resourceArn)
    .executeTakeFirst();
  const profile = await store
    .selectFrom("eks_fargate_profiles")
    .select("name")
    .where("arn", "=", resourceArn)
    .executeTakeFirst();
  if (cluster === undefined && profile === undefined)
    throw new AwsError("NotFoundException", `Resource ${resourceArn} was not found.`);
}

export function tagHandlers(store: Store) {
  return {
    tagResource: async (input) => {
      await assertExists(store, input.resourceArn ?? "");
      await writeTagMap(store, input.resourceArn ?? "", input.tags, "BadRequestException");
      return {};
    },
    untagResource: async (input) => {
      await assertExists(store, input.resourceArn ?? "");
      await removeTags(store, input.resourceArn ?? "", input.tagKeys ?? []);
      return {};
    },
    listTagsForResource: async (input) => {
      await assertExists(store, input.resourceArn ?? "");
      return { tags: await readTagMap(store, input.resourceArn ?? "") };
    },
  } satisfies Handlers<EKS>;
}
