/**
 * Whether a tag may be moved to another image: the repository's mutability, with ECR's
 * exclusion filters (IMMUTABLE_WITH_EXCLUSION: the matching tags stay mutable;
 * MUTABLE_WITH_EXCLUSION: the matching tags are immutable). Pure, so both the OCI push and ECR's
 * PutImage take the same answer.
 */

export type TagMutability =
  "MUTABLE" | "IMMUTABLE" | "IMMUTABLE_WITH_EXCLUSION" | "MUTABLE_WITH_EXCLUSION";

export const TAG_MUTABILITIES: readonly TagMutability[] = [
  "MUTABLE",
  "IMMUTABLE",
  "IMMUTABLE_WITH_EXCLUSION",
  "MUTABLE_WITH_EXCLUSION",
];

/** ECR's only filter type is WILDCARD: `*` stands for any run of characters. */
export interface TagMutabilityExclusionFilter {
  filterType: "WILDCARD";
  filter: string;
}

export function isTagMutability(value: string): value is TagMutability {
  return (TAG_MUTABILITIES as readonly string[]).includes(value);
}

function matchesWildcard(filter: string, tag: string): boolean {
  const pattern = filter
    .split("*")
    .map((part) => part.replace(/[.+?^${}()|[\]\\-]/g, "\\$&"))
    .join(".*");
  return new RegExp(`^${pattern}$`).test(tag);
}

export function tagIsImmutable(
  mutability: TagMutability,
  filters: readonly TagMutabilityExclusionFilter[],
  tag: string,
): boolean {
  const excluded = filters.some((f) => matchesWildcard(f.filter, tag));
  switch (mutability) {
    case "MUTABLE":
      return false;
    case "IMMUTABLE":
      return true;
    case "IMMUTABLE_WITH_EXCLUSION":
      return !excluded;
    case "MUTABLE_WITH_EXCLUSION":
      return excluded;
  }
}
