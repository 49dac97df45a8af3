/**
 * How ELBv2 resources are named and kept: ARNs and DNS names in AWS's forms, the documents in
 * the store, and the lookups every handler shares.
 */
import { randomBytes, randomInt } from "node:crypto";
import type {
  Action,
  Listener,
  LoadBalancer,
  Rule,
  TargetGroup,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { arn, type Identity } from "../../core/index.js";
import type {
  ElbListenerTable,
  ElbLoadBalancerTable,
  ElbRuleTable,
  ElbTargetGroupTable,
  Store,
} from "../../store/index.js";
import {
  listenerNotFound,
  loadBalancerNotFound,
  targetGroupNotFound,
  validationError,
} from "./errors.js";

/** The default rule sorts after every numbered one (priorities go up to 50000). */
export const DEFAULT_RULE_PRIORITY = 50_001;

/** ELB's 16-hex-digit resource ids. */
export const newElbId = (): string => randomBytes(8).toString("hex");

export function loadBalancerArn(identity: Identity, name: string): string {
  return arn(identity, "elasticloadbalancing", `loadbalancer/app/${name}/${newElbId()}`);
}

export function targetGroupArn(identity: Identity, name: string): string {
  return arn(identity, "elasticloadbalancing", `targetgroup/${name}/${newElbId()}`);
}

/** `listener/app/NAME/LBID/ID`: the load balancer's ARN path with one more id. */
export function listenerArn(loadBalancer: string): string {
  return `${loadBalancer.replace(":loadbalancer/", ":listener/")}/${newElbId()}`;
}

export function ruleArn(listener: string): string {
  return `${listener.replace(":listener/", ":listener-rule/")}/${newElbId()}`;
}

/**
 * `NAME-DIGITS.REGION.elb.localhost`. AWS's names end in `elb.amazonaws.com`; ours end in
 * `.localhost`, which resolvers answer with loopback, where Berth's listeners are.
 */
export function dnsName(identity: Identity, name: string): string {
  const digits = String(randomInt(1_000_000_000, 2_000_000_000));
  return `${name}-${digits}.${identity.region}.elb.localhost`.toLowerCase();
}

/** Names: 1-32 alphanumerics or hyphens, no hyphen at either end (both kinds of resource). */
export function checkName(kind: string, name: string): void {
  if (name.length > 32)
    throw validationError(`${kind} name '${name}' cannot be longer than '32' characters`);
  if (!/^[A-Za-z0-9-]+$/.test(name))
    throw validationError(
      `${kind} name '${name}' can only contain characters that are alphanumeric characters or hyphens(-)`,
    );
  if (name.startsWith("-") || name.endsWith("-"))
    throw validationError(`${kind} name '${name}' cannot begin or end with '-'`);
}

export const readLoadBalancer = (row: ElbLoadBalancerTable): LoadBalancer => {
  const lb = JSON.parse(row.document) as LoadBalancer;
  lb.CreatedTime = new Date(row.created_at);
  return lb;
};
export const readTargetGroup = (row: ElbTargetGroupTable): TargetGroup =>
  JSON.parse(row.document) as TargetGroup;
export const readListener = (row: ElbListenerTable): Listener =>
  JSON.parse(row.document) as Listener;
export const readRule = (row: Pick<ElbRuleTable, "document">): Rule =>
  JSON.parse(row.document) as Rule;
export const readAttributes = (row: ElbTargetGroupTable): Record<string, string> =>
  JSON.parse(row.attributes) as Record<string, string>;

/** Attributes as the API lists them, `Key`/`Value` pairs. */
export const attributeList = (attributes: Record<string, string>) =>
  Object.entries(attributes).map(([Key, Value]) => ({ Key, Value }));

/** The target groups an action forwards to (TargetGroupArn or ForwardConfig). */
export function forwardedGroups(actions: Action[] | undefined): string[] {
  const arns = new Set<string>();
  for (const action of actions ?? []) {
    if (action.Type !== "forward") continue;
    if (action.TargetGroupArn !== undefined) arns.add(action.TargetGroupArn);
    for (const group of action.ForwardConfig?.TargetGroups ?? [])
      if (group.TargetGroupArn !== undefined) arns.add(group.TargetGroupArn);
  }
  return [...arns];
}

/** Each target group's load balancers, through the listeners and rules that forward to it. */
export async function loadBalancersByTargetGroup(store: Store): Promise<Map<string, string[]>> {
  const rules = await store
    .selectFrom("elb_rules")
    .innerJoin("elb_listeners", "elb_listeners.arn", "elb_rules.listener_arn")
    .select(["elb_rules.document", "elb_listeners.load_balancer_arn"])
    .execute();
  const byGroup = new Map<string, string[]>();
  for (const row of rules) {
    const rule = JSON.parse(row.document) as Rule;
    for (const group of forwardedGroups(rule.Actions)) {
      const list = byGroup.get(group) ?? [];
      if (!list.includes(row.load_balancer_arn)) list.push(row.load_balancer_arn);
      byGroup.set(group, list);
    }
  }
  return byGroup;
}

/** One page by Marker/PageSize, as ELB pages its Describe calls (up to 400 a page). */
export function elbPage<T>(
  items: T[],
  marker: string | undefined,
  pageSize: number | undefined,
): { items: T[]; NextMarker?: string } {
  const start = marker === undefined ? 0 : Number.parseInt(marker, 10);
  if (
    !Number.isInteger(start) ||
    start < 0 ||
    (String(start) !== marker?.trim() && marker !== undefined)
  )
    throw validationError("The marker is not valid");
  const size = pageSize ?? 400;
  const slice = items.slice(start, start + size);
  const end = start + slice.length;
  return end < items.length ? { items: slice, NextMarker: String(end) } : { items: slice };
}

/** The target group named by `arn`, or ELBv2's TargetGroupNotFound. */
export async function requireTargetGroup(store: Store, arn: string): Promise<ElbTargetGroupTable> {
  return store
    .selectFrom("elb_target_groups")
    .selectAll()
    .where("arn", "=", arn)
    .executeTakeFirstOrThrow(() => targetGroupNotFound());
}

/** The load balancer named by `arn`, or ELBv2's LoadBalancerNotFound. */
export async function requireLoadBalancer(
  store: Store,
  arn: string,
): Promise<ElbLoadBalancerTable> {
  return store
    .selectFrom("elb_load_balancers")
    .selectAll()
    .where("arn", "=", arn)
    .executeTakeFirstOrThrow(() => loadBalancerNotFound());
}

/** The listener named by `arn`, or ELBv2's ListenerNotFound. */
export async function requireListener(store: Store, arn: string): Promise<ElbListenerTable> {
  return store
    .selectFrom("elb_listeners")
    .selectAll()
    .where("arn", "=", arn)
    .executeTakeFirstOrThrow(() => listenerNotFound());
}
