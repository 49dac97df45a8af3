/**
 * The ELBv2 side of ECS services behind load balancers (`ServiceTargets` of the control plane):
 * target group checks as CreateService makes them, registration of task addresses, draining,
 * and each target's state as DescribeTargetHealth reports it.
 */
import type { RegisteredTarget, ServiceTargets } from "../../control/index.js";
import type { Clock } from "../../core/index.js";
import type { Store } from "../../store/index.js";
import type { ElbDataPlane } from "./plane.js";
import { loadBalancersByTargetGroup, readTargetGroup } from "./resources.js";
import { deregisterTargets, healthOf, registerTargets } from "./targets.js";

/** How often `drained` looks whether a target has left its group. */
const DRAIN_POLL_MS = 250;

export function serviceTargets(store: Store, plane: ElbDataPlane, clock: Clock): ServiceTargets {
  const row = (group: string, id: string, port: number) =>
    store
      .selectFrom("elb_targets")
      .selectAll()
      .where("target_group_arn", "=", group)
      .where("id", "=", id)
      .where("port", "=", port)
      .executeTakeFirst();
  return {
    async checkTargetGroup(arn) {
      const found = await store
        .selectFrom("elb_target_groups")
        .selectAll()
        .where("arn", "=", arn)
        .executeTakeFirst();
      // ECS's texts for a target group it cannot use.
      if (found === undefined) return `The target group ${arn} does not exist.`;
      const group = readTargetGroup(found);
      if (group.TargetType !== "ip")
        return `The provided target group ${arn} has target type ${group.TargetType ?? ""}, which is incompatible with the awsvpc network mode specified in the task definition.`;
      const lbs = (await loadBalancersByTargetGroup(store)).get(arn) ?? [];
      if (lbs.length === 0)
        return `The target group with targetGroupArn ${arn} does not have an associated load balancer.`;
      return undefined;
    },

    async registered(group): Promise<RegisteredTarget[]> {
      const rows = await store
        .selectFrom("elb_targets")
        .selectAll()
        .where("target_group_arn", "=", group)
        .execute();
      return rows.map((r) => ({
        id: r.id,
        port: r.port,
        ...(r.task_arn === null ? {} : { taskArn: r.task_arn }),
        draining: r.draining_until !== null,
      }));
    },

    async register(group, taskArn, id, port) {
      await registerTargets(store, group, [{ id, port }], clock.now(), taskArn);
      plane.changed();
    },

    async deregister(group, id, port) {
      await deregisterTargets(store, group, [{ id, port }], clock.now());
      plane.changed();
    },

    async drained(group, id, port) {
      while ((await row(group, id, port)) !== undefined)
        await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS));
    },

    async state(group, id, port) {
      const target = await row(group, id, port);
      if (target === undefined) return undefined;
      const inUse = ((await loadBalancersByTargetGroup(store)).get(group) ?? []).length > 0;
      return healthOf(plane, target, inUse).State;
    },
  };
}
