/**
 * Assignments as the server sends them, with every field the protocol requires at the values
 * ECS defaults to: what unit tests of the agent and the placement contract start from, each
 * overriding only what it is about.
 */
import type { ContainerAssignment, TaskAssignment } from "../../../src/protocol/index.js";

export function containerAssignment(over: Partial<ContainerAssignment> = {}): ContainerAssignment {
  return {
    name: "app",
    image: "registry.test/busybox:latest",
    essential: true,
    environment: [],
    cpu: 0,
    readonlyRootFilesystem: false,
    initProcessEnabled: false,
    capabilitiesAdd: [],
    capabilitiesDrop: [],
    ulimits: [],
    dockerLabels: {},
    dependsOn: [],
    stopTimeout: 30,
    ...over,
  };
}

/** A task of 0.25 vCPU and 512 MiB in the default cluster, with one container unless given. */
export function taskAssignment(over: Partial<TaskAssignment> = {}): TaskAssignment {
  const taskId = over.taskId ?? "t1";
  return {
    taskArn: `arn:aws:ecs:us-east-1:000000000000:task/default/${taskId}`,
    taskId,
    clusterArn: "arn:aws:ecs:us-east-1:000000000000:cluster/default",
    family: "app",
    cpu: 256,
    memory: 512,
    desiredStatus: "RUNNING",
    registryCredentials: [],
    containers: [containerAssignment()],
    ...over,
  };
}
