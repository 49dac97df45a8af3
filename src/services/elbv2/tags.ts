/**
 * Tags on load balancers, target groups, listeners and rules (AddTags, RemoveTags,
 * DescribeTags, and Tags on the Create calls), kept in the shared `tags` table.
 */
import type { ElasticLoadBalancingV2, Tag } from "@aws-sdk/client-elastic-load-balancing-v2";
import { AwsError, type Handlers } from "../../aws/index.js";
import {
  fromKeyValue,
  putTags,
  readTags as readStoredTags,
  removeTags,
  toKeyValue,
  type Store,
} from "../../store/index.js";
import {
  listenerNotFound,
  loadBalancerNotFound,
  ruleNotFound,
  targetGroupNotFound,
  tooManyTags,
} from "./errors.js";

const MAX_TAGS = 50;

/** Which table an ARN names, by its resource type. */
function tableOf(resourceArn: string) {
  const resource = resourceArn.split(":")[5] ?? "";
  if (resource.startsWith("loadbalancer/"))
    return { table: "elb_load_balancers", notFound: loadBalancerNotFound } as const;
  if (resource.startsWith("targetgroup/"))
    return { table: "elb_target_groups", notFound: targetGroupNotFound } as const;
  if (resource.startsWith("listener/"))
    return { table: "elb_listeners", notFound: listenerNotFound } as const;
  if (resource.startsWith("listener-rule/"))
    return { table: "elb_rules", notFound: ruleNotFound } as const;
  return { table: undefined, notFound: loadBalancerNotFound } as const;
}

async function requireResource(store: Store, resourceArn: string): Promise<void> {
  const { table, notFound } = tableOf(resourceArn);
  const row =
    table === undefined
      ? undefined
      : await store
          .selectFrom(table)
          .select("arn")
          .where("arn", "=", resourceArn)
          .executeTakeFirst();
  if (row === undefined) throw notFound();
}

/** Writes `tags` (replacing values of keys it has): no key twice, at most 50 on a resource. */
export async function writeTags(
  store: Store,
  resourceArn: string,
  tags: Tag[] | undefined,
): Promise<void> {
  if (tags === undefined || tags.length === 0) return;
  const keys = new Set(tags.map((t) => t.Key ?? ""));
  if (keys.size !== tags.length) throw new AwsError("DuplicateTagKeys");
  const existing = new Set((await readTags(store, resourceArn)).map((t) => t.Key));
  const total = existing.size + [...keys].filter((key) => !existing.has(key)).length;
  if (total > MAX_TAGS) throw tooManyTags();
  await putTags(store, resourceArn, fromKeyValue(tags));
}

export async function readTags(store: Store, resourceArn: string): Promise<Tag[]> {
  return toKeyValue(await readStoredTags(store, resourceArn));
}

export function tagHandlers(store: Store) {
  return {
    addTags: async (input) => {
      for (const resourceArn of input.ResourceArns ?? []) await requireResource(store, resourceArn);
      for (const resourceArn of input.ResourceArns ?? [])
        await writeTags(store, resourceArn, input.Tags);
      return {};
    },

    removeTags: async (input) => {
      for (const resourceArn of input.ResourceArns ?? []) {
        await requireResource(store, resourceArn);
        await removeTags(store, resourceArn, input.TagKeys ?? []);
      }
      return {};
    },

    describeTags: async (input) => {
      const descriptions = [];
      for (const resourceArn of input.ResourceArns ?? []) {
        await requireResource(store, resourceArn);
        descriptions.push({ ResourceArn: resourceArn, Tags: await readTags(store, resourceArn) });
      }
      return { TagDescriptions: descriptions };
    },
  } satisfies Handlers<ElasticLoadBalancingV2>;
}
