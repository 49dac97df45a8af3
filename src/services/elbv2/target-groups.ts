/**
 * Target groups: CreateTargetGroup (target type ip, HTTP), DescribeTargetGroups,
 * ModifyTargetGroup, DeleteTargetGroup, and their attributes (deregistration delay, routing
 * algorithm, ...) with ELB's defaults for an ip target group of an application load balancer.
 */
import type {
  ElasticLoadBalancingV2,
  CreateTargetGroupInput,
  ModifyTargetGroupInput,
  TargetGroup,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { AwsError, type Handlers } from "../../aws/index.js";
import { parseHttpCodes } from "../../balancer/index.js";
import { dropTags, type Store } from "../../store/index.js";
import { targetGroupNotFound, validationError } from "./errors.js";
import type { ElbDataPlane } from "./plane.js";
import {
  attributeList,
  checkName,
  elbPage,
  forwardedGroups,
  loadBalancersByTargetGroup,
  readAttributes,
  readRule,
  readTargetGroup,
  requireLoadBalancer,
  requireTargetGroup,
  targetGroupArn,
} from "./resources.js";
import { writeTags } from "./tags.js";

/** ELB's default quota of target groups per region. */
const MAX_TARGET_GROUPS = 3000;

/** The attributes of an ip target group behind an application load balancer, as ELB defaults them. */
export const DEFAULT_ATTRIBUTES: Readonly<Record<string, string>> = {
  "deregistration_delay.timeout_seconds": "300",
  "stickiness.enabled": "false",
  "stickiness.type": "lb_cookie",
  "stickiness.lb_cookie.duration_seconds": "86400",
  "stickiness.app_cookie.cookie_name": "",
  "stickiness.app_cookie.duration_seconds": "86400",
  "slow_start.duration_seconds": "0",
  "load_balancing.algorithm.type": "round_robin",
  "load_balancing.algorithm.anomaly_mitigation": "off",
  "load_balancing.cross_zone.enabled": "use_load_balancer_configuration",
  "target_group_health.dns_failover.minimum_healthy_targets.count": "1",
  "target_group_health.dns_failover.minimum_healthy_targets.percentage": "off",
  "target_group_health.unhealthy_state_routing.minimum_healthy_targets.count": "1",
  "target_group_health.unhealthy_state_routing.minimum_healthy_targets.percentage": "off",
};

/** Checks of attribute values Berth acts on; others are kept as given. */
const ATTRIBUTE_CHECKS: Record<string, (value: string) => boolean> = {
  "deregistration_delay.timeout_seconds": (v) => /^\d+$/.test(v) && Number(v) <= 3600,
  "load_balancing.algorithm.type": (v) =>
    ["round_robin", "least_outstanding_requests", "weighted_random"].includes(v),
  "stickiness.enabled": (v) => v === "true" || v === "false",
  "slow_start.duration_seconds": (v) => /^\d+$/.test(v) && (v === "0" || (+v >= 30 && +v <= 900)),
};

function checkMatcher(code: string | undefined): void {
  if (code !== undefined && parseHttpCodes(code) === undefined)
    throw validationError(
      `Health check matcher HTTP code '${code}' must be a value between 200 and 499, a list of such values or a range of them`,
    );
}

function checkHealthTiming(group: TargetGroup): void {
  if ((group.HealthCheckTimeoutSeconds ?? 0) >= (group.HealthCheckIntervalSeconds ?? 0))
    throw validationError("Health check interval must be greater than the timeout.");
}

/** The health check settings of a Create or Modify call applied to `group`. */
function applyHealthCheck(
  group: TargetGroup,
  input: CreateTargetGroupInput | ModifyTargetGroupInput,
): void {
  const settings = {
    HealthCheckProtocol: input.HealthCheckProtocol,
    HealthCheckPort: input.HealthCheckPort,
    HealthCheckEnabled: input.HealthCheckEnabled,
    HealthCheckPath: input.HealthCheckPath,
    HealthCheckIntervalSeconds: input.HealthCheckIntervalSeconds,
    HealthCheckTimeoutSeconds: input.HealthCheckTimeoutSeconds,
    HealthyThresholdCount: input.HealthyThresholdCount,
    UnhealthyThresholdCount: input.UnhealthyThresholdCount,
    Matcher: input.Matcher,
  };
  for (const [key, value] of Object.entries(settings))
    if (value !== undefined) Object.assign(group, { [key]: value });
  // Berth's health checks speak HTTP, as its targets do.
  if (group.HealthCheckProtocol !== "HTTP")
    throw validationError(`Berth health checks use HTTP, not '${group.HealthCheckProtocol ?? ""}'`);
  const port = group.HealthCheckPort ?? "traffic-port";
  if (port !== "traffic-port" && !(/^\d+$/.test(port) && +port >= 1 && +port <= 65535))
    throw validationError("Health check port must be 'traffic-port' or a port between 1 and 65535");
  if (!(group.HealthCheckPath ?? "/").startsWith("/"))
    throw validationError("Health check path must begin with a '/' character");
  checkMatcher(group.Matcher?.HttpCode);
  checkHealthTiming(group);
}

async function withLoadBalancers(store: Store, groups: TargetGroup[]): Promise<TargetGroup[]> {
  const byGroup = await loadBalancersByTargetGroup(store);
  return groups.map((g) => ({ ...g, LoadBalancerArns: byGroup.get(g.TargetGroupArn ?? "") ?? [] }));
}

export function targetGroupHandlers(store: Store, plane: ElbDataPlane) {
  return {
    createTargetGroup: async (input, ctx) => {
      const name = input.Name ?? "";
      checkName("Target group", name);
      const targetType = input.TargetType ?? "instance";
      // ELB also targets instances, Lambda functions and ALBs; Berth's targets are task IPs.
      if (targetType !== "ip")
        throw validationError(`Berth supports target type 'ip' only, not '${targetType}'`);
      if (input.Protocol === undefined) throw validationError("A protocol must be specified");
      if (input.Port === undefined) throw validationError("A port must be specified");
      // HTTPS needs certificates on the targets' side; Berth's targets are spoken to in HTTP.
      if (input.Protocol !== "HTTP")
        throw validationError(`Berth target groups use HTTP, not '${input.Protocol}'`);
      if ((input.ProtocolVersion ?? "HTTP1") !== "HTTP1")
        throw validationError("Berth target groups use protocol version HTTP1");
      const group: TargetGroup = {
        TargetGroupName: name,
        Protocol: input.Protocol,
        Port: input.Port,
        ...(input.VpcId === undefined ? {} : { VpcId: input.VpcId }),
        HealthCheckProtocol: input.Protocol,
        HealthCheckPort: "traffic-port",
        HealthCheckEnabled: true,
        HealthCheckIntervalSeconds: 30,
        HealthCheckTimeoutSeconds: 5,
        HealthyThresholdCount: 5,
        UnhealthyThresholdCount: 2,
        HealthCheckPath: "/",
        Matcher: { HttpCode: "200" },
        TargetType: targetType,
        ProtocolVersion: "HTTP1",
        IpAddressType: input.IpAddressType ?? "ipv4",
      };
      applyHealthCheck(group, input);
      const existing = await store
        .selectFrom("elb_target_groups")
        .selectAll()
        .where("name", "=", name)
        .executeTakeFirst();
      if (existing !== undefined) {
        // The same name with the same settings answers the existing group, as on AWS.
        const stored = readTargetGroup(existing);
        const same = (Object.keys(group) as (keyof TargetGroup)[]).every(
          (key) => JSON.stringify(stored[key]) === JSON.stringify(group[key]),
        );
        if (same) return { TargetGroups: await withLoadBalancers(store, [stored]) };
        throw new AwsError(
          "DuplicateTargetGroupName",
          `A target group with the same name '${name}' exists, but with different settings`,
        );
      }
      const count = await store
        .selectFrom("elb_target_groups")
        .select((eb) => eb.fn.countAll<number>().as("n"))
        .executeTakeFirstOrThrow();
      if (Number(count.n) >= MAX_TARGET_GROUPS)
        throw new AwsError(
          "TooManyTargetGroups",
          "The quota for the number of target groups has been reached",
        );
      group.TargetGroupArn = targetGroupArn(ctx.identity, name);
      await store
        .insertInto("elb_target_groups")
        .values({
          arn: group.TargetGroupArn,
          name,
          document: JSON.stringify(group),
          attributes: JSON.stringify(DEFAULT_ATTRIBUTES),
          created_at: ctx.clock.now().getTime(),
        })
        .execute();
      await writeTags(store, group.TargetGroupArn, input.Tags);
      return { TargetGroups: [{ ...group, LoadBalancerArns: [] }] };
    },

    describeTargetGroups: async (input) => {
      const arns = input.TargetGroupArns ?? [];
      const names = input.Names ?? [];
      // ELB lists target groups by name.
      let query = store.selectFrom("elb_target_groups").selectAll().orderBy("name");
      if (arns.length > 0) query = query.where("arn", "in", arns);
      if (names.length > 0) query = query.where("name", "in", names);
      const rows = await query.execute();
      if (rows.length < new Set([...arns, ...names]).size) throw targetGroupNotFound();
      let groups = await withLoadBalancers(store, rows.map(readTargetGroup));
      if (input.LoadBalancerArn !== undefined) {
        await requireLoadBalancer(store, input.LoadBalancerArn);
        groups = groups.filter((g) => g.LoadBalancerArns?.includes(input.LoadBalancerArn ?? ""));
      }
      const { items, ...next } = elbPage(groups, input.Marker, input.PageSize);
      return { TargetGroups: items, ...next };
    },

    modifyTargetGroup: async (input) => {
      const row = await requireTargetGroup(store, input.TargetGroupArn ?? "");
      const group = readTargetGroup(row);
      applyHealthCheck(group, input);
      await store
        .updateTable("elb_target_groups")
        .set({ document: JSON.stringify(group) })
        .where("arn", "=", row.arn)
        .execute();
      plane.changed();
      return { TargetGroups: await withLoadBalancers(store, [group]) };
    },

    deleteTargetGroup: async (input) => {
      const arn = input.TargetGroupArn ?? "";
      const rules = await store.selectFrom("elb_rules").select("document").execute();
      if (rules.some((row) => forwardedGroups(readRule(row).Actions).includes(arn)))
        throw new AwsError(
          "ResourceInUse",
          `Target group '${arn}' is currently in use by a listener or a rule`,
        );
      await store.transaction().execute(async (trx) => {
        await trx.deleteFrom("elb_targets").where("target_group_arn", "=", arn).execute();
        await trx.deleteFrom("elb_target_groups").where("arn", "=", arn).execute();
      });
      await dropTags(store, [arn]);
      plane.changed();
      return {};
    },

    describeTargetGroupAttributes: async (input) => {
      const row = await requireTargetGroup(store, input.TargetGroupArn ?? "");
      return { Attributes: attributeList(readAttributes(row)) };
    },

    modifyTargetGroupAttributes: async (input) => {
      const row = await requireTargetGroup(store, input.TargetGroupArn ?? "");
      const attributes = readAttributes(row);
      for (const { Key, Value } of input.Attributes ?? []) {
        const key = Key ?? "";
        const value = Value ?? "";
        if (!Object.hasOwn(DEFAULT_ATTRIBUTES, key))
          throw validationError(`Target group attribute key '${key}' is not recognized`);
        const check = ATTRIBUTE_CHECKS[key];
        if (check !== undefined && !check(value))
          throw validationError(
            `'${value}' is not a valid value for target group attribute '${key}'`,
          );
        attributes[key] = value;
      }
      await store
        .updateTable("elb_target_groups")
        .set({ attributes: JSON.stringify(attributes) })
        .where("arn", "=", row.arn)
        .execute();
      plane.changed();
      return { Attributes: attributeList(attributes) };
    },
  } satisfies Handlers<ElasticLoadBalancingV2>;
}
