/**
 * The `loadBalancers` of CreateService, checked as ECS checks them: a target group (Berth's
 * application load balancers; classic load balancer names are not supported), and a container
 * of the task definition that maps the container port.
 */
import type { LoadBalancer } from "@aws-sdk/client-ecs";
import type { ServiceTargets } from "../../control/index.js";
import type { Store } from "../../store/index.js";
import { invalidParameter } from "./errors.js";
import { findTaskDefinition, toTaskDefinition } from "./task-definitions.js";

/** ECS's quota of target groups per service. */
const MAX_LOAD_BALANCERS = 5;

export async function checkLoadBalancers(
  store: Store,
  targets: ServiceTargets | undefined,
  loadBalancers: LoadBalancer[],
  taskDefinitionArn: string,
): Promise<LoadBalancer[]> {
  if (loadBalancers.length === 0) return [];
  if (targets === undefined)
    throw invalidParameter(
      "This Berth has no load balancers to register the service's tasks with.",
    );
  if (loadBalancers.length > MAX_LOAD_BALANCERS)
    throw invalidParameter(`loadBalancers can have at most ${MAX_LOAD_BALANCERS} items.`);
  const row = await findTaskDefinition(store, taskDefinitionArn);
  const containers = row === undefined ? [] : (toTaskDefinition(row).containerDefinitions ?? []);
  const checked: LoadBalancer[] = [];
  for (const lb of loadBalancers) {
    // ECS also takes a Classic Load Balancer's name; Berth has application load balancers only.
    if (lb.targetGroupArn === undefined)
      throw invalidParameter("Target Group Arn can not be blank.");
    const problem = await targets.checkTargetGroup(lb.targetGroupArn);
    if (problem !== undefined) throw invalidParameter(problem);
    if (lb.containerName === undefined || lb.containerPort === undefined)
      throw invalidParameter("containerName and containerPort must both be specified.");
    const container = containers.find((c) => c.name === lb.containerName);
    if (container === undefined)
      throw invalidParameter(
        `The container ${lb.containerName} does not exist in the task definition.`,
      );
    if (!(container.portMappings ?? []).some((m) => m.containerPort === lb.containerPort))
      throw invalidParameter(
        `The container ${lb.containerName} did not have a container port ${lb.containerPort} defined.`,
      );
    checked.push({
      targetGroupArn: lb.targetGroupArn,
      containerName: lb.containerName,
      containerPort: lb.containerPort,
    });
  }
  return checked;
}
