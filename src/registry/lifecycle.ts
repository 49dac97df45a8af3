/**
 * ECR lifecycle policies: parsing (with ECR's validation) and evaluation. Rules run in
 * rulePriority order; an image whose tags a rule selects is claimed by that rule and cannot be
 * expired by a rule of lower priority; within a rule, `imageCountMoreThan` keeps the newest N
 * and `sinceImagePushed` expires what is older than N days.
 */
import { BerthError } from "../core/index.js";
import type { ImageRecord } from "./metadata.js";

export interface LifecycleRule {
  rulePriority: number;
  description?: string;
  selection: {
    tagStatus: "tagged" | "untagged" | "any";
    tagPrefixList?: string[];
    tagPatternList?: string[];
    countType: "imageCountMoreThan" | "sinceImagePushed";
    countUnit?: "days";
    countNumber: number;
  };
  action: { type: "expire" };
}

export interface LifecyclePolicy {
  rules: LifecycleRule[];
}

export interface Expiry {
  image: ImageRecord;
  rulePriority: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** A lifecycle policy that does not validate; ECR answers InvalidParameterException. */
export class LifecyclePolicyInvalid extends BerthError {
  constructor(message: string) {
    super(
      "LifecyclePolicyInvalid",
      `Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: 'Lifecycle policy validation failure: ${message}'`,
    );
  }
}

function fail(message: string): never {
  throw new LifecyclePolicyInvalid(message);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function stringList(value: unknown, name: string): string[] | undefined {
  if (value === undefined) return undefined;
  if (
    !Array.isArray(value) ||
    value.length === 0 ||
    !value.every((v) => typeof v === "string" && v !== "")
  )
    fail(`${name} must be a non-empty list of non-empty strings`);
  return value as string[];
}

export function parseLifecyclePolicy(text: string): LifecyclePolicy {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    fail("the policy is not valid JSON");
  }
  if (!isObject(doc) || !Array.isArray(doc.rules) || doc.rules.length === 0)
    fail('object has missing required properties (["rules"])');
  const priorities = new Set<number>();
  const rules = doc.rules.map((raw: unknown): LifecycleRule => {
    if (!isObject(raw)) fail("each rule must be an object");
    const priority = raw.rulePriority;
    if (typeof priority !== "number" || !Number.isInteger(priority) || priority < 1)
      fail("rulePriority must be an integer of at least 1");
    if (priorities.has(priority)) fail(`rulePriority ${priority} is used by more than one rule`);
    priorities.add(priority);
    const selection = raw.selection;
    if (!isObject(selection)) fail("a rule must have a selection");
    const tagStatus = selection.tagStatus;
    if (tagStatus !== "tagged" && tagStatus !== "untagged" && tagStatus !== "any")
      fail("tagStatus must be one of tagged, untagged, any");
    const tagPrefixList = stringList(selection.tagPrefixList, "tagPrefixList");
    const tagPatternList = stringList(selection.tagPatternList, "tagPatternList");
    if (tagStatus === "tagged" && tagPrefixList === undefined && tagPatternList === undefined)
      fail("tagPrefixList or tagPatternList is required when tagStatus is tagged");
    if (tagStatus !== "tagged" && (tagPrefixList !== undefined || tagPatternList !== undefined))
      fail("tagPrefixList and tagPatternList are only allowed when tagStatus is tagged");
    const countType = selection.countType;
    if (countType !== "imageCountMoreThan" && countType !== "sinceImagePushed")
      fail("countType must be imageCountMoreThan or sinceImagePushed");
    const countNumber = selection.countNumber;
    if (typeof countNumber !== "number" || !Number.isInteger(countNumber) || countNumber < 1)
      fail("countNumber must be an integer of at least 1");
    if (countType === "sinceImagePushed" && selection.countUnit !== "days")
      fail("countUnit must be days when countType is sinceImagePushed");
    if (countType === "imageCountMoreThan" && selection.countUnit !== undefined)
      fail("countUnit is not allowed when countType is imageCountMoreThan");
    const action = raw.action;
    if (!isObject(action) || action.type !== "expire") fail("action.type must be expire");
    return {
      rulePriority: priority,
      description: typeof raw.description === "string" ? raw.description : undefined,
      selection: {
        tagStatus,
        tagPrefixList,
        tagPatternList,
        countType,
        countUnit: countType === "sinceImagePushed" ? "days" : undefined,
        countNumber,
      },
      action: { type: "expire" },
    };
  });
  rules.sort((a, b) => a.rulePriority - b.rulePriority);
  const any = rules.findIndex((r) => r.selection.tagStatus === "any");
  if (any >= 0 && any !== rules.length - 1)
    fail("a rule with tagStatus any must have the highest rulePriority");
  return { rules };
}

/** `*` matches any run of characters; everything else is literal. */
function wildcard(pattern: string): RegExp {
  const escaped = pattern.split("*").map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  return new RegExp(`^${escaped.join(".*")}$`);
}

function selects(rule: LifecycleRule, image: ImageRecord): boolean {
  const { tagStatus, tagPrefixList, tagPatternList } = rule.selection;
  if (tagStatus === "any") return true;
  if (tagStatus === "untagged") return image.tags.length === 0;
  if (image.tags.length === 0) return false;
  // As ECR: with several prefixes (or patterns), an image must carry a tag for every one of them.
  if (tagPrefixList !== undefined)
    return tagPrefixList.every((prefix) => image.tags.some((tag) => tag.startsWith(prefix)));
  return (tagPatternList ?? []).every((p) => image.tags.some((tag) => wildcard(p).test(tag)));
}

/**
 * What the policy expires among `images`. Images an index references are left alone: they
 * go with their index, never before it.
 */
export function evaluateLifecycle(
  policy: LifecyclePolicy,
  images: ImageRecord[],
  now: Date,
): Expiry[] {
  const claimed = new Set<string>();
  const expired: Expiry[] = [];
  const candidates = images.filter((image) => !image.referencedByIndex);
  for (const rule of policy.rules) {
    const selected = candidates
      .filter((image) => !claimed.has(image.digest) && selects(rule, image))
      .sort((a, b) => b.pushedAt.getTime() - a.pushedAt.getTime());
    for (const image of selected) claimed.add(image.digest);
    const { countType, countNumber } = rule.selection;
    const victims =
      countType === "imageCountMoreThan"
        ? selected.slice(countNumber)
        : selected.filter(
            (image) => now.getTime() - image.pushedAt.getTime() > countNumber * DAY_MS,
          );
    for (const image of victims) expired.push({ image, rulePriority: rule.rulePriority });
  }
  return expired;
}
