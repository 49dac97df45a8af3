/**
 * Targets: RegisterTargets, DeregisterTargets (the target drains for the group's
 * deregistration delay, or until its in-flight requests are done) and DescribeTargetHealth,
 * with the states and reason codes ELB reports. ECS services register their tasks through the
 * same functions.
 */
import type {
  ElasticLoadBalancingV2,
  TargetDescription,
  TargetHealth,
  TargetHealthDescription,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { isIPv4 } from "node:net";
import { AwsError, type Handlers } from "../../aws/index.js";
import type { ElbTargetTable, Store } from "../../store/index.js";
import { invalidTarget } from "./errors.js";
import type { ElbDataPlane } from "./plane.js";
import { TargetRanges } from "./target-ranges.js";
import {
  loadBalancersByTargetGroup,
  readAttributes,
  readTargetGroup,
  requireTargetGroup,
} from "./resources.js";

/** ELB's quota of targets per target group. */
const MAX_TARGETS = 1000;

export interface TargetKey {
  id: string;
  port: number;
}

async function requireGroup(store: Store, arn: string) {
  const row = await requireTargetGroup(store, arn);
  return { row, group: readTargetGroup(row), attributes: readAttributes(row) };
}

/** The targets with their ports (the group's port where none is given), checked. */
function keysOf(targets: TargetDescription[], defaultPort: number): TargetKey[] {
  return targets.map((target) => {
    const id = target.Id ?? "";
    if (!isIPv4(id)) throw invalidTarget(`The IP address '${id}' is not a valid IPv4 address`);
    return { id, port: target.Port ?? defaultPort };
  });
}

/** Registers targets (a draining one comes back as new); `taskArn` marks an ECS task's. */
export async function registerTargets(
  store: Store,
  targetGroupArn: string,
  targets: TargetKey[],
  now: Date,
  taskArn?: string,
): Promise<void> {
  await store.transaction().execute(async (trx) => {
    const existing = await trx
      .selectFrom("elb_targets")
      .select(["id", "port", "draining_until"])
      .where("target_group_arn", "=", targetGroupArn)
      .execute();
    const fresh = targets.filter((t) => !existing.some((e) => e.id === t.id && e.port === t.port));
    if (existing.length + fresh.length > MAX_TARGETS) throw new AwsError("TooManyTargets");
    for (const target of targets) {
      const prior = existing.find((e) => e.id === target.id && e.port === target.port);
      if (prior !== undefined && prior.draining_until === null) continue;
      await trx
        .insertInto("elb_targets")
        .values({
          target_group_arn: targetGroupArn,
          id: target.id,
          port: target.port,
          availability_zone: null,
          task_arn: taskArn ?? null,
          registered_at: now.getTime(),
          draining_until: null,
        })
        .onConflict((oc) =>
          oc
            .columns(["target_group_arn", "id", "port"])
            .doUpdateSet({ registered_at: now.getTime(), draining_until: null }),
        )
        .execute();
    }
  });
}

/**
 * Starts draining targets: no new requests, and the data plane removes each once its
 * in-flight requests are done or the group's deregistration delay has passed.
 */
export async function deregisterTargets(
  store: Store,
  targetGroupArn: string,
  targets: TargetKey[],
  now: Date,
): Promise<void> {
  const { attributes } = await requireGroup(store, targetGroupArn);
  const delayMs = Number(attributes["deregistration_delay.timeout_seconds"] ?? "300") * 1000;
  for (const target of targets)
    await store
      .updateTable("elb_targets")
      .set({ draining_until: now.getTime() + delayMs })
      .where("target_group_arn", "=", targetGroupArn)
      .where("id", "=", target.id)
      .where("port", "=", target.port)
      .where("draining_until", "is", null)
      .execute();
}

const NOT_REGISTERED: TargetHealth = {
  State: "unused",
  Reason: "Target.NotRegistered",
  Description: "Target is not registered to the target group",
};
const NOT_IN_USE: TargetHealth = {
  State: "unused",
  Reason: "Target.NotInUse",
  Description: "Target group is not configured to receive traffic from the load balancer",
};
const DRAINING: TargetHealth = {
  State: "draining",
  Reason: "Target.DeregistrationInProgress",
  Description: "Target deregistration is in progress",
};
const REGISTERING: TargetHealth = {
  State: "initial",
  Reason: "Elb.RegistrationInProgress",
  Description: "Target registration is in progress",
};

/** What DescribeTargetHealth says of one registered target. */
export function healthOf(plane: ElbDataPlane, row: ElbTargetTable, inUse: boolean): TargetHealth {
  if (row.draining_until !== null) return DRAINING;
  if (!inUse) return NOT_IN_USE;
  return plane.targetHealth(row.target_group_arn, row.id, row.port) ?? REGISTERING;
}

export function targetHandlers(
  store: Store,
  plane: ElbDataPlane,
  ranges: TargetRanges = new TargetRanges(),
) {
  return {
    registerTargets: async (input, ctx) => {
      const { group } = await requireGroup(store, input.TargetGroupArn ?? "");
      const keys = keysOf(input.Targets ?? [], group.Port ?? 80);
      for (const { id } of keys)
        if (!ranges.allows(id))
          // AWS's text for an address outside the VPC is not recorded; the code is the model's.
          throw invalidTarget(
            `The IP address '${id}' is not within the task subnets or an allowed target range (${ranges.cidrs.join(", ")})`,
          );
      await registerTargets(store, group.TargetGroupArn ?? "", keys, ctx.clock.now());
      plane.changed();
      return {};
    },

    deregisterTargets: async (input, ctx) => {
      const { group } = await requireGroup(store, input.TargetGroupArn ?? "");
      const keys = keysOf(input.Targets ?? [], group.Port ?? 80);
      const registered = await store
        .selectFrom("elb_targets")
        .select(["id", "port"])
        .where("target_group_arn", "=", group.TargetGroupArn ?? "")
        .execute();
      const missing = keys.filter(
        (k) => !registered.some((r) => r.id === k.id && r.port === k.port),
      );
      if (missing.length > 0)
        throw invalidTarget(
          `The following targets are not registered in target group '${group.TargetGroupArn ?? ""}': ${missing.map((k) => `'${k.id}:${k.port}'`).join(", ")}`,
        );
      await deregisterTargets(store, group.TargetGroupArn ?? "", keys, ctx.clock.now());
      plane.changed();
      return {};
    },

    describeTargetHealth: async (input) => {
      const { group } = await requireGroup(store, input.TargetGroupArn ?? "");
      const arn = group.TargetGroupArn ?? "";
      const rows = await store
        .selectFrom("elb_targets")
        .selectAll()
        .where("target_group_arn", "=", arn)
        .orderBy("registered_at")
        .execute();
      const inUse = ((await loadBalancersByTargetGroup(store)).get(arn) ?? []).length > 0;
      const describe = (row: ElbTargetTable): TargetHealthDescription => ({
        Target: {
          Id: row.id,
          Port: row.port,
          ...(row.availability_zone === null ? {} : { AvailabilityZone: row.availability_zone }),
        },
        HealthCheckPort:
          group.HealthCheckPort === "traffic-port" || group.HealthCheckPort === undefined
            ? String(row.port)
            : group.HealthCheckPort,
        TargetHealth: healthOf(plane, row, inUse),
      });
      if (input.Targets === undefined || input.Targets.length === 0)
        return { TargetHealthDescriptions: rows.map(describe) };
      const asked = keysOf(input.Targets, group.Port ?? 80);
      return {
        TargetHealthDescriptions: asked.map((key) => {
          const row = rows.find((r) => r.id === key.id && r.port === key.port);
          if (row !== undefined) return describe(row);
          return {
            Target: { Id: key.id, Port: key.port },
            HealthCheckPort: String(key.port),
            TargetHealth: NOT_REGISTERED,
          };
        }),
      };
    },
  } satisfies Handlers<ElasticLoadBalancingV2>;
}
