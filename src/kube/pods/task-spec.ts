/**
 * A pod as an ECS task definition (pure): one container per pod container, init containers
 * first and non-essential, each depending on the one before with SUCCESS, and every app
 * container on the last init container with SUCCESS — so they run in order, each to success,
 * before the app starts, as the kubelet runs them. `command`/`args` are the image's entry point
 * and command, as Kubernetes overrides them; terminationGracePeriodSeconds is the stop timeout.
 */
import type { ContainerDefinition, RegisterTaskDefinitionRequest } from "@aws-sdk/client-ecs";
import type { KubeObject } from "../objects.js";
import { podSpec, type Container, type PodSize } from "./fargate.js";

/** ECS's task family of a pod: the cluster, namespace and name (family names allow `_`). */
export function podFamily(cluster: string, pod: KubeObject): string {
  return `eks_${cluster}_${pod.metadata.namespace ?? "default"}_${pod.metadata.name ?? ""}`.slice(
    0,
    255,
  );
}

function containerDefinition(
  c: Container,
  essential: boolean,
  stopTimeout: number,
): ContainerDefinition {
  return {
    name: c.name,
    image: c.image,
    essential,
    ...(c.command === undefined ? {} : { entryPoint: c.command }),
    ...(c.args === undefined ? {} : { command: c.args }),
    ...(c.workingDir === undefined ? {} : { workingDirectory: c.workingDir }),
    environment: (c.env ?? [])
      .filter((e) => e.value !== undefined)
      .map((e) => ({ name: e.name, value: e.value })),
    portMappings: (c.ports ?? []).map((p) => ({
      containerPort: p.containerPort,
      protocol: p.protocol === "UDP" ? "udp" : "tcp",
    })),
    ...(c.securityContext?.runAsUser === undefined
      ? {}
      : {
          user:
            c.securityContext.runAsGroup === undefined
              ? String(c.securityContext.runAsUser)
              : `${c.securityContext.runAsUser}:${c.securityContext.runAsGroup}`,
        }),
    stopTimeout,
  };
}

/** Fargate's stop timeout is at most 120 s; a longer grace period is cut to it. */
export function stopTimeoutOf(pod: KubeObject): number {
  const grace = podSpec(pod).terminationGracePeriodSeconds ?? 30;
  return Math.max(0, Math.min(grace, 120));
}

export function podTaskDefinition(
  cluster: string,
  pod: KubeObject,
  size: PodSize,
): RegisterTaskDefinitionRequest {
  const spec = podSpec(pod);
  const stopTimeout = stopTimeoutOf(pod);
  const init = (spec.initContainers ?? []).map((c, i, all) => ({
    ...containerDefinition(c, false, stopTimeout),
    ...(i === 0
      ? {}
      : { dependsOn: [{ containerName: all[i - 1]?.name ?? "", condition: "SUCCESS" as const }] }),
  }));
  const lastInit = spec.initContainers?.[spec.initContainers.length - 1]?.name;
  const app = spec.containers.map((c) => ({
    ...containerDefinition(c, true, stopTimeout),
    ...(lastInit === undefined
      ? {}
      : { dependsOn: [{ containerName: lastInit, condition: "SUCCESS" as const }] }),
  }));
  return {
    family: podFamily(cluster, pod),
    requiresCompatibilities: ["FARGATE"],
    networkMode: "awsvpc",
    cpu: String(size.cpu),
    memory: String(size.memory),
    containerDefinitions: [...init, ...app],
  };
}
