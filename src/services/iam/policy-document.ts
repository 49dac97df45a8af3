/**
 * IAM policy documents: parsing and IAM's checks at the moment a policy is written (bad JSON,
 * a principal where none belongs, actions without a vendor, resources that are no ARN, unknown
 * condition operators), answered with MalformedPolicyDocument and IAM's texts. The parsed form
 * is what `evaluate.ts` decides with.
 */
import { AwsError } from "../../aws/index.js";

export type Effect = "Allow" | "Deny";

export interface Condition {
  /** The operator without `IfExists` and set qualifier, lower-cased (`stringequals`). */
  operator: string;
  ifExists: boolean;
  set?: "any" | "all";
  /** The context key, lower-cased (`ecs:cluster`, `aws:resourcetag/team`). */
  key: string;
  values: string[];
}

export interface Principals {
  /** `*` (anyone) or ARNs / account ids. */
  aws: string[];
  service: string[];
}

export interface Statement {
  effect: Effect;
  actions?: string[];
  notActions?: string[];
  resources?: string[];
  notResources?: string[];
  principals?: Principals;
  conditions: Condition[];
}

export interface PolicyDocument {
  statements: Statement[];
}

/** Identity policies (users, roles, managed) or trust policies (a role's AssumeRolePolicyDocument). */
export type PolicyKind = "identity" | "trust";

const OPERATORS = new Set([
  "stringequals",
  "stringnotequals",
  "stringequalsignorecase",
  "stringnotequalsignorecase",
  "stringlike",
  "stringnotlike",
  "arnequals",
  "arnnotequals",
  "arnlike",
  "arnnotlike",
  "numericequals",
  "numericnotequals",
  "numericlessthan",
  "numericlessthanequals",
  "numericgreaterthan",
  "numericgreaterthanequals",
  "bool",
  "null",
]);

function malformed(message: string): AwsError {
  return new AwsError("MalformedPolicyDocument", message);
}

function strings(value: unknown, field: string): string[] {
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0 || list.some((item) => typeof item !== "string"))
    throw malformed(`Syntax error at ${field}.`);
  return list as string[];
}

function parseActions(value: unknown, field: string): string[] {
  const actions = strings(value, field);
  for (const action of actions)
    if (action !== "*" && !/^[a-zA-Z0-9-]+:[a-zA-Z0-9*?]*$/.test(action))
      throw malformed("Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.");
  return actions;
}

function parseResources(value: unknown, field: string): string[] {
  const resources = strings(value, field);
  for (const resource of resources)
    if (resource !== "*" && !/^arn:[^:]*:[^:]*:[^:]*:[^:]*:.+$/.test(resource))
      throw malformed(`Resource ${resource} must be in ARN format or "*".`);
  return resources;
}

function parsePrincipals(value: unknown): Principals {
  if (value === "*") return { aws: ["*"], service: [] };
  if (value === null || typeof value !== "object" || Array.isArray(value))
    throw malformed("Invalid principal in policy");
  const principals: Principals = { aws: [], service: [] };
  for (const [kind, raw] of Object.entries(value as Record<string, unknown>)) {
    const list = strings(raw, "Principal");
    if (kind === "AWS") {
      for (const entry of list)
        if (entry !== "*" && !/^\d{12}$/.test(entry) && !/^arn:aws:(iam|sts)::\d{12}:/.test(entry))
          throw malformed(`Invalid principal in policy: "AWS":"${entry}"`);
      principals.aws.push(...list);
    } else if (kind === "Service") principals.service.push(...list);
    else throw malformed(`Invalid principal in policy: "${kind}"`);
  }
  return principals;
}

function parseConditions(value: unknown): Condition[] {
  if (value === undefined) return [];
  if (value === null || typeof value !== "object" || Array.isArray(value))
    throw malformed("Syntax error at Condition.");
  const conditions: Condition[] = [];
  for (const [rawOperator, block] of Object.entries(value as Record<string, unknown>)) {
    const [qualifier, name = ""] = rawOperator.includes(":")
      ? rawOperator.split(":", 2)
      : [undefined, rawOperator];
    let operator = name.toLowerCase();
    const ifExists = operator.endsWith("ifexists");
    if (ifExists) operator = operator.slice(0, -"ifexists".length);
    const set =
      qualifier === undefined
        ? undefined
        : qualifier.toLowerCase() === "foranyvalue"
          ? "any"
          : qualifier.toLowerCase() === "forallvalues"
            ? "all"
            : null;
    if (!OPERATORS.has(operator) || set === null)
      throw malformed(`Invalid Condition type : ${rawOperator}`);
    if (block === null || typeof block !== "object" || Array.isArray(block))
      throw malformed("Syntax error at Condition.");
    for (const [key, raw] of Object.entries(block as Record<string, unknown>)) {
      if (!key.includes(":"))
        throw malformed(
          "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.",
        );
      const list = (Array.isArray(raw) ? (raw as unknown[]) : [raw]).map((item: unknown) =>
        typeof item === "boolean" || typeof item === "number" ? String(item) : item,
      );
      conditions.push({
        operator,
        ifExists,
        ...(set === undefined ? {} : { set }),
        key: key.toLowerCase(),
        values: strings(list, "Condition"),
      });
    }
  }
  return conditions;
}

function parseStatement(raw: unknown, kind: PolicyKind): Statement {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw))
    throw malformed("Syntax errors in policy.");
  const s = raw as Record<string, unknown>;
  if (s.Effect !== "Allow" && s.Effect !== "Deny") {
    if (s.Effect === undefined) throw malformed("Missing required field Effect");
    throw malformed(`Invalid effect: ${JSON.stringify(s.Effect)}`);
  }
  const hasPrincipal = s.Principal !== undefined || s.NotPrincipal !== undefined;
  if (kind === "identity" && hasPrincipal)
    throw malformed("Policy document should not specify a principal.");
  if (kind === "trust" && s.Principal === undefined)
    throw malformed("Missing required field Principal");
  if (s.Action === undefined && s.NotAction === undefined)
    throw malformed("Policy statement must contain actions.");
  if (kind === "identity" && s.Resource === undefined && s.NotResource === undefined)
    throw malformed("Policy statement must contain resources.");
  if (kind === "trust" && (s.Resource !== undefined || s.NotResource !== undefined))
    throw malformed("Has prohibited field Resource");
  return {
    effect: s.Effect,
    ...(s.Action === undefined ? {} : { actions: parseActions(s.Action, "Action") }),
    ...(s.NotAction === undefined ? {} : { notActions: parseActions(s.NotAction, "NotAction") }),
    ...(s.Resource === undefined ? {} : { resources: parseResources(s.Resource, "Resource") }),
    ...(s.NotResource === undefined
      ? {}
      : { notResources: parseResources(s.NotResource, "NotResource") }),
    ...(s.Principal === undefined ? {} : { principals: parsePrincipals(s.Principal) }),
    conditions: parseConditions(s.Condition),
  };
}

/** Parses and checks a policy as IAM does when it is written; throws MalformedPolicyDocument. */
export function parsePolicy(text: string, kind: PolicyKind): PolicyDocument {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw malformed("Syntax errors in policy.");
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw))
    throw malformed("Syntax errors in policy.");
  const doc = raw as Record<string, unknown>;
  if (doc.Version !== undefined && doc.Version !== "2012-10-17" && doc.Version !== "2008-10-17")
    throw malformed("The policy failed legacy parsing");
  if (doc.Statement === undefined) throw malformed("Missing required field Statement");
  const list = Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement];
  if (list.length === 0) throw malformed("Missing required field Statement");
  return { statements: list.map((statement) => parseStatement(statement, kind)) };
}
