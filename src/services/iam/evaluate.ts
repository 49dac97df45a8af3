/**
 * IAM's decision for one request, as the policy evaluation logic states it (identity policies
 * only: Berth has one account, no SCPs, boundaries or resource policies besides trust): an
 * explicit Deny in any matching statement wins; otherwise a matching Allow allows; otherwise
 * the request is implicitly denied. Pure: unit-tested without a store.
 */
import type { Condition, PolicyDocument, Principals, Statement } from "./policy-document.js";

export type Decision = "Allow" | "ExplicitDeny" | "ImplicitDeny";

export interface EvaluationRequest {
  /** `ecs:RunTask`. */
  action: string;
  /** An ARN, or `*`. */
  resource: string;
  /** Condition keys (lower-cased names) and their values. */
  context: Readonly<Record<string, readonly string[]>>;
}

const patterns = new Map<string, RegExp>();

/** IAM's wildcards: `*` any run of characters, `?` any one; `ignoreCase` for actions. */
export function wildcardMatch(pattern: string, value: string, ignoreCase = false): boolean {
  const cacheKey = `${ignoreCase ? "i" : "c"}${pattern}`;
  let regex = patterns.get(cacheKey);
  if (regex === undefined) {
    const source = pattern
      .split("")
      .map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[.+^${}()|[\]\\]/g, "\\$&")))
      .join("");
    regex = new RegExp(`^${source}$`, ignoreCase ? "is" : "s");
    if (patterns.size > 10_000) patterns.clear();
    patterns.set(cacheKey, regex);
  }
  return regex.test(value);
}

function matchesAction(statement: Statement, action: string): boolean {
  if (statement.actions !== undefined)
    return statement.actions.some((pattern) => wildcardMatch(pattern, action, true));
  return !(statement.notActions ?? []).some((pattern) => wildcardMatch(pattern, action, true));
}

function matchesResource(statement: Statement, resource: string): boolean {
  if (statement.resources !== undefined)
    return statement.resources.some((pattern) => wildcardMatch(pattern, resource));
  if (statement.notResources !== undefined)
    return !statement.notResources.some((pattern) => wildcardMatch(pattern, resource));
  // Trust policies name no resource: the role itself is the resource.
  return true;
}

/** One policy value against one request value, for a non-negated operator's base. */
function valueMatches(operator: string, policy: string, actual: string): boolean {
  switch (operator) {
    case "stringequals":
    case "arnequals":
      return policy === actual;
    case "stringequalsignorecase":
      return policy.toLowerCase() === actual.toLowerCase();
    case "stringlike":
    case "arnlike":
      return wildcardMatch(policy, actual);
    case "numericequals":
      return Number(actual) === Number(policy);
    case "numericlessthan":
      return Number(actual) < Number(policy);
    case "numericlessthanequals":
      return Number(actual) <= Number(policy);
    case "numericgreaterthan":
      return Number(actual) > Number(policy);
    case "numericgreaterthanequals":
      return Number(actual) >= Number(policy);
    case "bool":
      return policy.toLowerCase() === actual.toLowerCase();
    default:
      return false;
  }
}

const NEGATED: Record<string, string> = {
  stringnotequals: "stringequals",
  stringnotequalsignorecase: "stringequalsignorecase",
  stringnotlike: "stringlike",
  arnnotequals: "arnequals",
  arnnotlike: "arnlike",
  numericnotequals: "numericequals",
};

function conditionHolds(condition: Condition, context: EvaluationRequest["context"]): boolean {
  const actual = context[condition.key];
  if (condition.operator === "null") {
    const absent = actual === undefined || actual.length === 0;
    return condition.values.some((v) => (v.toLowerCase() === "true") === absent);
  }
  if (actual === undefined || actual.length === 0) {
    if (condition.ifExists) return true;
    // A negated operator holds for a key the request lacks; ForAllValues over nothing holds.
    return condition.operator in NEGATED || condition.set === "all";
  }
  const negated = NEGATED[condition.operator];
  const base = negated ?? condition.operator;
  const anyPolicyValue = (value: string): boolean =>
    condition.values.some((policy) => valueMatches(base, policy, value));
  if (condition.set === "all") {
    const all = actual.every(anyPolicyValue);
    return negated === undefined ? all : !actual.some(anyPolicyValue);
  }
  const any = actual.some(anyPolicyValue);
  return negated === undefined ? any : !any;
}

function statementApplies(statement: Statement, request: EvaluationRequest): boolean {
  return (
    matchesAction(statement, request.action) &&
    matchesResource(statement, request.resource) &&
    statement.conditions.every((condition) => conditionHolds(condition, request.context))
  );
}

/** The decision of identity policies for one action on one resource. */
export function evaluatePolicies(
  policies: readonly PolicyDocument[],
  request: EvaluationRequest,
): Decision {
  let allowed = false;
  for (const policy of policies)
    for (const statement of policy.statements) {
      if (!statementApplies(statement, request)) continue;
      if (statement.effect === "Deny") return "ExplicitDeny";
      allowed = true;
    }
  return allowed ? "Allow" : "ImplicitDeny";
}

/** Who asks to assume a role, as a trust policy's Principal names callers. */
export interface TrustCaller {
  /** `arn:aws:iam::ACCOUNT:user/NAME`, the role ARN for a role session, or the root ARN. */
  arn?: string;
  accountId?: string;
  /** A service principal (`ecs-tasks.amazonaws.com`). */
  service?: string;
}

function principalMatches(principals: Principals | undefined, caller: TrustCaller): boolean {
  if (principals === undefined) return false;
  if (caller.service !== undefined) return principals.service.includes(caller.service);
  return principals.aws.some(
    (entry) =>
      entry === "*" ||
      entry === caller.arn ||
      // An account (its id or its root ARN) trusts every principal of the account.
      entry === caller.accountId ||
      entry === `arn:aws:iam::${caller.accountId ?? ""}:root`,
  );
}

/** A role's trust policy: does it let `caller` perform `action` (sts:AssumeRole)? */
export function trustAllows(
  trust: PolicyDocument,
  caller: TrustCaller,
  action: string,
  context: EvaluationRequest["context"] = {},
): boolean {
  let allowed = false;
  for (const statement of trust.statements) {
    if (!principalMatches(statement.principals, caller)) continue;
    if (!statementApplies(statement, { action, resource: "*", context })) continue;
    if (statement.effect === "Deny") return false;
    allowed = true;
  }
  return allowed;
}
