/**
 * Services behind load balancers, as the reconciler sees them: each RUNNING task's address and
 * container port registered in the service's target groups, targets of tasks that are gone
 * deregistered, and each task's load balancer health (healthy once every target of it is).
 * The load balancer itself is behind `ServiceTargets`, which the ELBv2 layer implements.
 */
import type { Service, Task } from "@aws-sdk/client-ecs";
import { ENI_ATTACHMENT } from "./task-attachments.js";

export interface RegisteredTarget {
  id: string;
  port: number;
  taskArn?: string;
  draining: boolean;
}

export interface ServiceTargets {
  /** Why ECS would refuse this target group for a service; undefined when it is fine. */
  checkTargetGroup(targetGroupArn: string): Promise<string | undefined>;
  registered(targetGroupArn: string): Promise<RegisteredTarget[]>;
  register(targetGroupArn: string, taskArn: string, id: string, port: number): Promise<void>;
  /** Starts draining the target (no new requests; it leaves once idle or after the delay). */
  deregister(targetGroupArn: string, id: string, port: number): Promise<void>;
  /** Resolves once the target has left the group. */
  drained(targetGroupArn: string, id: string, port: number): Promise<void>;
  /** The target's state as DescribeTargetHealth shows it (healthy, unhealthy, initial, ...). */
  state(targetGroupArn: string, id: string, port: number): Promise<string | undefined>;
}

/** What load balancers say of a task. */
export type TaskTargetHealth = "healthy" | "unhealthy" | "pending";

/** The task's awsvpc address, once its network is attached. */
export function taskAddress(task: Task): string | undefined {
  const eni = task.attachments?.find((a) => a.type === ENI_ATTACHMENT);
  return eni?.details?.find((d) => d.name === "privateIPv4Address")?.value;
}

/**
 * Registers the RUNNING tasks of `service` in its target groups and deregisters targets whose
 * task is no longer among `serving`; answers each serving task's load balancer health.
 */
export async function syncServiceTargets(
  targets: ServiceTargets,
  service: Service,
  serving: Task[],
): Promise<Map<string, TaskTargetHealth>> {
  const verdicts = new Map<string, TaskTargetHealth[]>();
  const note = (arn: string, verdict: TaskTargetHealth): void => {
    verdicts.set(arn, [...(verdicts.get(arn) ?? []), verdict]);
  };
  const servingArns = new Set(serving.map((t) => t.taskArn ?? ""));
  for (const lb of service.loadBalancers ?? []) {
    const group = lb.targetGroupArn;
    const port = lb.containerPort;
    if (group === undefined || port === undefined) continue;
    const registered = await targets.registered(group);
    for (const target of registered)
      if (target.taskArn !== undefined && !servingArns.has(target.taskArn) && !target.draining)
        await targets.deregister(group, target.id, target.port);
    for (const task of serving) {
      const arn = task.taskArn ?? "";
      const address = taskAddress(task);
      if (task.lastStatus !== "RUNNING" || address === undefined) {
        note(arn, "pending");
        continue;
      }
      if (!registered.some((t) => t.id === address && t.port === port && !t.draining))
        await targets.register(group, arn, address, port);
      const state = await targets.state(group, address, port);
      // Health checks disabled: ELB says "unavailable" and routes to it, so ECS counts it.
      note(
        arn,
        state === "healthy" || state === "unavailable"
          ? "healthy"
          : state === "unhealthy"
            ? "unhealthy"
            : "pending",
      );
    }
  }
  // Unhealthy in any group makes the task unhealthy; healthy needs every group to say so.
  const health = new Map<string, TaskTargetHealth>();
  for (const [arn, list] of verdicts)
    health.set(
      arn,
      list.includes("unhealthy") ? "unhealthy" : list.includes("pending") ? "pending" : "healthy",
    );
  return health;
}

/** Drains the task's targets in all of the service's groups; resolves once they left. */
export async function drainTask(
  targets: ServiceTargets,
  service: Service,
  task: Task,
): Promise<void> {
  const address = taskAddress(task);
  if (address === undefined) return;
  const waits: Promise<void>[] = [];
  for (const lb of service.loadBalancers ?? []) {
    if (lb.targetGroupArn === undefined || lb.containerPort === undefined) continue;
    await targets.deregister(lb.targetGroupArn, address, lb.containerPort);
    waits.push(targets.drained(lb.targetGroupArn, address, lb.containerPort));
  }
  await Promise.all(waits);
}
