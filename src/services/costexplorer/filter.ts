/**
 * Cost Explorer's Expression (And / Or / Not / Dimensions / Tags) evaluated over anything that
 * answers "what is your value of dimension D / tag T", and the dimensions Berth can answer.
 */
import type {
  DimensionValues,
  Expression,
  MatchOption,
  TagValues,
} from "@aws-sdk/client-cost-explorer";
import { validation } from "./errors.js";

export interface Attributed {
  dimension(key: string): string | undefined;
  tag(key: string): string | undefined;
}

function matches(
  actual: string | undefined,
  values: readonly string[],
  options: readonly MatchOption[],
): boolean {
  if (options.includes("ABSENT")) return actual === undefined;
  const value = actual ?? "";
  const fold = options.includes("CASE_INSENSITIVE")
    ? (s: string) => s.toLowerCase()
    : (s: string) => s;
  const test = (wanted: string): boolean => {
    const a = fold(value);
    const w = fold(wanted);
    if (options.includes("STARTS_WITH")) return a.startsWith(w);
    if (options.includes("ENDS_WITH")) return a.endsWith(w);
    if (options.includes("CONTAINS")) return a.includes(w);
    return a === w;
  };
  return values.some(test);
}

function roots(expression: Expression): number {
  return ["And", "Or", "Not", "Dimensions", "Tags", "CostCategories"].filter(
    (k) => expression[k as keyof Expression] !== undefined,
  ).length;
}

/** Checks an expression once, before it is evaluated on every line. */
export function checkExpression(expression: Expression, dimensions: readonly string[]): void {
  if (roots(expression) !== 1)
    throw validation(
      "Expression must have exactly one of And, Or, Not, Dimensions, Tags or CostCategories",
    );
  if (expression.CostCategories !== undefined)
    // AWS filters on cost categories an account defined; Berth has none to define.
    throw validation("Cost categories are not supported by Berth");
  for (const list of [expression.And, expression.Or])
    if (list !== undefined) {
      if (list.length < 2) throw validation("And and Or expressions need at least two operands");
      for (const e of list) checkExpression(e, dimensions);
    }
  if (expression.Not !== undefined) checkExpression(expression.Not, dimensions);
  const dim: DimensionValues | undefined = expression.Dimensions;
  if (dim !== undefined) {
    if (dim.Key === undefined || !dimensions.includes(dim.Key))
      throw validation(
        `Dimension ${dim.Key ?? "(none)"} is not allowed. Allowed dimension(s): ${dimensions.join(", ")}`,
      );
    if ((dim.Values ?? []).length === 0 && !(dim.MatchOptions ?? []).includes("ABSENT"))
      throw validation(`Dimension ${dim.Key} needs at least one value`);
  }
  const tag: TagValues | undefined = expression.Tags;
  if (tag !== undefined && (tag.Key === undefined || tag.Key === ""))
    throw validation("Tag expressions need a Key");
}

export function evaluate(expression: Expression, item: Attributed): boolean {
  if (expression.And !== undefined) return expression.And.every((e) => evaluate(e, item));
  if (expression.Or !== undefined) return expression.Or.some((e) => evaluate(e, item));
  if (expression.Not !== undefined) return !evaluate(expression.Not, item);
  const dim = expression.Dimensions;
  if (dim !== undefined)
    return matches(item.dimension(dim.Key ?? ""), dim.Values ?? [], dim.MatchOptions ?? []);
  const tag = expression.Tags;
  if (tag !== undefined)
    return matches(item.tag(tag.Key ?? ""), tag.Values ?? [], tag.MatchOptions ?? []);
  return true;
}
