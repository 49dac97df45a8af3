/**
 * The data plane's view of the configuration: what each port serves, read whole from the store
 * (load balancers, listeners, rules, target groups, targets). Level-triggered: every sync
 * re-reads it, so a missed nudge costs only the time to the next periodic one.
 */
import type {
  Action,
  Rule,
  RuleCondition,
  TargetGroup,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import type { Store } from "../store/index.js";

export interface RouteRule {
  priority: number;
  conditions: RuleCondition[];
  action: Action;
}

export interface ListenerRoute {
  listenerArn: string;
  loadBalancerArn: string;
  /** The load balancer's DNS name: how a request on a shared port finds its load balancer. */
  dnsName: string;
  port: number;
  /** Highest priority first; the default rule last. */
  rules: RouteRule[];
}

export interface TargetConfig {
  id: string;
  port: number;
  /** Epoch ms until which it drains; undefined while it serves. */
  drainingUntil?: number;
}

export interface GroupConfig {
  arn: string;
  group: TargetGroup;
  attributes: Record<string, string>;
  targets: TargetConfig[];
  /** Some listener or rule forwards to it (ELB checks the health of such groups only). */
  inUse: boolean;
}

export interface PlaneConfig {
  listeners: ListenerRoute[];
  groups: Map<string, GroupConfig>;
}

/** The target groups an action sends to, with their weights. */
export function actionGroups(action: Action): { arn: string; weight: number }[] {
  const weighted = action.ForwardConfig?.TargetGroups ?? [];
  if (weighted.length > 0)
    return weighted.map((g) => ({ arn: g.TargetGroupArn ?? "", weight: g.Weight ?? 1 }));
  return action.TargetGroupArn === undefined ? [] : [{ arn: action.TargetGroupArn, weight: 1 }];
}

export async function loadPlaneConfig(store: Store): Promise<PlaneConfig> {
  const [lbs, listenerRows, ruleRows, groupRows, targetRows] = await Promise.all([
    store.selectFrom("elb_load_balancers").select(["arn", "document"]).execute(),
    store.selectFrom("elb_listeners").selectAll().orderBy("created_at").execute(),
    store.selectFrom("elb_rules").selectAll().orderBy("priority").execute(),
    store.selectFrom("elb_target_groups").selectAll().execute(),
    store.selectFrom("elb_targets").selectAll().orderBy("registered_at").execute(),
  ]);
  const dnsNames = new Map(
    lbs.map((row) => [row.arn, (JSON.parse(row.document) as { DNSName?: string }).DNSName ?? ""]),
  );
  const used = new Set<string>();
  const listeners: ListenerRoute[] = listenerRows.map((row) => ({
    listenerArn: row.arn,
    loadBalancerArn: row.load_balancer_arn,
    dnsName: dnsNames.get(row.load_balancer_arn) ?? "",
    port: row.port,
    rules: ruleRows
      .filter((rule) => rule.listener_arn === row.arn)
      .map((rule) => {
        const parsed = JSON.parse(rule.document) as Rule;
        const action = parsed.Actions?.[0] ?? { Type: "fixed-response" };
        for (const group of actionGroups(action)) used.add(group.arn);
        return { priority: rule.priority, conditions: parsed.Conditions ?? [], action };
      }),
  }));
  const groups = new Map<string, GroupConfig>();
  for (const row of groupRows)
    groups.set(row.arn, {
      arn: row.arn,
      group: JSON.parse(row.document) as TargetGroup,
      attributes: JSON.parse(row.attributes) as Record<string, string>,
      targets: [],
      inUse: used.has(row.arn),
    });
  for (const row of targetRows)
    groups.get(row.target_group_arn)?.targets.push({
      id: row.id,
      port: row.port,
      ...(row.draining_until === null ? {} : { drainingUntil: row.draining_until }),
    });
  return { listeners, groups };
}
