/**
 * Listener rules: CreateRule (path-pattern and host-header conditions, priorities 1-50000),
 * DescribeRules (the default rule last, as "default"), DeleteRule.
 */
import type {
  ElasticLoadBalancingV2,
  Rule,
  RuleCondition,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { AwsError, type Handlers } from "../../aws/index.js";
import { dropTags, type Store } from "../../store/index.js";
import { checkActions } from "./actions.js";
import { ruleNotFound, validationError } from "./errors.js";
import type { ElbDataPlane } from "./plane.js";
import { elbPage, readRule, requireListener, ruleArn } from "./resources.js";
import { writeTags } from "./tags.js";

/** ELB's quotas: rules per listener (the default one not counted), condition values per rule. */
const MAX_RULES = 100;
const MAX_CONDITION_VALUES = 5;

/** The values of a condition, from `Values` or its field's own config (not both). */
function conditionValues(condition: RuleCondition): { config: string; values: string[] } {
  const field = condition.Field ?? "";
  const config =
    field === "path-pattern"
      ? { name: "PathPatternConfig", values: condition.PathPatternConfig?.Values }
      : { name: "HostHeaderConfig", values: condition.HostHeaderConfig?.Values };
  if (condition.Values !== undefined && config.values !== undefined)
    throw validationError(`You cannot specify both 'Values' and '${config.name}'`);
  // The legacy `Values` form takes one value; more go in the field's config (ELB's rule; its
  // text is not recorded).
  if (condition.Values !== undefined && condition.Values.length > 1)
    throw validationError(
      `A '${field}' condition's Values can hold one value; use ${config.name} for more`,
    );
  const values = condition.Values ?? config.values ?? [];
  if (values.length === 0)
    throw validationError(`A '${field}' condition must have at least one value`);
  return { config: config.name, values };
}

/** The conditions as stored: each with `Values` and its config, as DescribeRules shows them. */
export function checkConditions(conditions: RuleCondition[]): RuleCondition[] {
  if (conditions.length === 0) throw validationError("A rule must have at least one condition");
  const seen = new Set<string>();
  let total = 0;
  return conditions.map((condition) => {
    const field = condition.Field ?? "";
    // ALB also matches headers, methods, query strings and source IPs; Berth routes by these two.
    if (field !== "path-pattern" && field !== "host-header")
      throw validationError(
        `Berth supports 'path-pattern' and 'host-header' conditions, not '${field}'`,
      );
    if (seen.has(field)) throw validationError(`A rule can contain only one '${field}' condition`);
    seen.add(field);
    const { config, values } = conditionValues(condition);
    for (const value of values) {
      if (value.length > 128)
        throw validationError(`Condition value '${value}' cannot be longer than 128 characters`);
      if (field === "host-header" && !/^[A-Za-z0-9.*?-]+$/.test(value))
        throw validationError(
          `Host header value '${value}' contains characters that are not allowed`,
        );
    }
    total += values.length;
    if (total > MAX_CONDITION_VALUES)
      throw validationError(`A rule can only have '${MAX_CONDITION_VALUES}' condition values`);
    return { Field: field, Values: values, [config]: { Values: values } };
  });
}

export function ruleHandlers(store: Store, plane: ElbDataPlane) {
  return {
    createRule: async (input) => {
      const listenerArn = input.ListenerArn ?? "";
      const listener = await requireListener(store, listenerArn);
      const priority = input.Priority ?? 0;
      const conditions = checkConditions(input.Conditions ?? []);
      const actions = await checkActions(store, input.Actions ?? [], listener.load_balancer_arn);
      const existing = await store
        .selectFrom("elb_rules")
        .select("priority")
        .where("listener_arn", "=", listenerArn)
        .execute();
      if (existing.some((r) => r.priority === priority))
        throw new AwsError("PriorityInUse", `Priority '${priority}' is currently in use`);
      if (existing.length - 1 >= MAX_RULES) throw new AwsError("TooManyRules");
      const rule: Rule = {
        RuleArn: ruleArn(listenerArn),
        Priority: String(priority),
        Conditions: conditions,
        Actions: actions,
        IsDefault: false,
      };
      await store
        .insertInto("elb_rules")
        .values({
          arn: rule.RuleArn ?? "",
          listener_arn: listenerArn,
          priority,
          document: JSON.stringify(rule),
        })
        .execute();
      await writeTags(store, rule.RuleArn ?? "", input.Tags);
      plane.changed();
      return { Rules: [rule] };
    },

    describeRules: async (input) => {
      const arns = input.RuleArns ?? [];
      if (arns.length === 0 && input.ListenerArn === undefined)
        throw validationError("You must specify either listener rule ARNs or a listener ARN");
      let query = store.selectFrom("elb_rules").selectAll().orderBy("priority");
      if (arns.length > 0) query = query.where("arn", "in", arns);
      if (input.ListenerArn !== undefined) {
        await requireListener(store, input.ListenerArn);
        query = query.where("listener_arn", "=", input.ListenerArn);
      }
      const rows = await query.execute();
      if (rows.length < new Set(arns).size) throw ruleNotFound();
      const { items, ...next } = elbPage(rows.map(readRule), input.Marker, input.PageSize);
      return { Rules: items, ...next };
    },

    deleteRule: async (input) => {
      const arn = input.RuleArn ?? "";
      const row = await requireRule(store, arn);
      if (readRule(row).IsDefault === true)
        throw new AwsError("OperationNotPermitted", "Default rules cannot be deleted");
      await store.deleteFrom("elb_rules").where("arn", "=", arn).execute();
      await dropTags(store, [arn]);
      plane.changed();
      return {};
    },
  } satisfies Handlers<ElasticLoadBalancingV2>;
}

/** The rule named by `arn`, or ELBv2's RuleNotFound. */
export async function requireRule(store: Store, arn: string) {
  return store
    .selectFrom("elb_rules")
    .selectAll()
    .where("arn", "=", arn)
    .executeTakeFirstOrThrow(() => ruleNotFound());
}
