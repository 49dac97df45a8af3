/**
 * A pod's status from its task (pure): phase, conditions, IP, and container statuses in the
 * kubelet's words (ContainerCreating, Running, Completed/Error with the exit code).
 * Readiness probes are not run: a running container counts as ready.
 */
import type { Container as TaskContainer, Task } from "@aws-sdk/client-ecs";
import { kubeTime, type KubeObject } from "../objects.js";
import { podSpec, type Container } from "./fargate.js";

const PENDING_STATES = new Set(["PROVISIONING", "PENDING", "ACTIVATING"]);

function time(date: Date | undefined, fallback: string): string {
  return date === undefined ? fallback : kubeTime(new Date(date));
}

export function taskAddress(task: Task): string | undefined {
  for (const attachment of task.attachments ?? [])
    for (const detail of attachment.details ?? [])
      if (detail.name === "privateIPv4Address" && detail.value !== undefined) return detail.value;
  return undefined;
}

/** EKS's node name of a Fargate pod: one node per pod, named after its address. */
export function nodeNameOf(address: string, region: string): string {
  return `fargate-ip-${address.replace(/\./g, "-")}.${region}.compute.internal`;
}

function containerStatus(
  spec: Container,
  container: TaskContainer | undefined,
  task: Task,
  restartCount: number,
  now: string,
): Record<string, unknown> {
  const started = time(task.startedAt, now);
  let state: Record<string, unknown>;
  if (container?.exitCode !== undefined && container.exitCode !== null)
    state = {
      terminated: {
        exitCode: container.exitCode,
        reason: container.exitCode === 0 ? "Completed" : "Error",
        startedAt: started,
        finishedAt: time(task.stoppedAt ?? task.executionStoppedAt, now),
        ...(container.runtimeId === undefined
          ? {}
          : { containerID: `containerd://${container.runtimeId}` }),
      },
    };
  else if (container?.lastStatus === "RUNNING") state = { running: { startedAt: started } };
  else if (container?.lastStatus === "STOPPED")
    state = {
      terminated: {
        exitCode: 137,
        reason: container.reason ?? "Error",
        startedAt: started,
        finishedAt: now,
      },
    };
  else
    state = { waiting: { reason: task.lastStatus === "STOPPED" ? "Error" : "ContainerCreating" } };
  return {
    name: spec.name,
    image: spec.image ?? "",
    imageID: "",
    ready: "running" in state,
    started: "running" in state,
    restartCount,
    state,
    ...(container?.runtimeId === undefined
      ? {}
      : { containerID: `containerd://${container.runtimeId}` }),
  };
}

export interface PodTaskView {
  task: Task;
  restartCount: number;
  region: string;
  now: string;
}

/** The pod's status while its task exists. */
export function podStatusFromTask(pod: KubeObject, view: PodTaskView): Record<string, unknown> {
  const { task, restartCount, now } = view;
  const spec = podSpec(pod);
  const byName = new Map((task.containers ?? []).map((c) => [c.name, c]));
  const init = (spec.initContainers ?? []).map((c) =>
    containerStatus(c, byName.get(c.name), task, 0, now),
  );
  const app = spec.containers.map((c) =>
    containerStatus(c, byName.get(c.name), task, restartCount, now),
  );
  const initialized = init.every(
    (s) => (s.state as { terminated?: { exitCode: number } }).terminated?.exitCode === 0,
  );
  const appExits = spec.containers.map((c) => byName.get(c.name)?.exitCode);
  const stopped = task.lastStatus === "STOPPED" || task.lastStatus === "DEPROVISIONING";
  let phase: string;
  if (PENDING_STATES.has(task.lastStatus ?? "PROVISIONING")) phase = "Pending";
  else if (!stopped) phase = app.some((s) => s.ready === true) ? "Running" : "Pending";
  else if (spec.restartPolicy === "Always" || spec.restartPolicy === undefined) phase = "Running";
  else phase = appExits.every((code) => code === 0) ? "Succeeded" : "Failed";
  if (stopped && phase === "Running")
    for (const s of app)
      if (!("running" in (s.state as object)))
        s.state = { waiting: { reason: "CrashLoopBackOff" } };
  const ready = phase === "Running" && app.every((s) => s.ready === true);
  const address = taskAddress(task);
  const transition = time(task.startedAt ?? task.createdAt, now);
  const conditions = [
    {
      type: "PodReadyToStartContainers",
      status: address === undefined ? "False" : "True",
      lastTransitionTime: transition,
    },
    { type: "Initialized", status: initialized ? "True" : "False", lastTransitionTime: transition },
    { type: "Ready", status: ready ? "True" : "False", lastTransitionTime: transition },
    { type: "ContainersReady", status: ready ? "True" : "False", lastTransitionTime: transition },
    { type: "PodScheduled", status: "True", lastTransitionTime: time(task.createdAt, now) },
  ];
  return {
    phase,
    conditions,
    ...(address === undefined
      ? {}
      : { podIP: address, podIPs: [{ ip: address }], hostIP: address, hostIPs: [{ ip: address }] }),
    startTime: time(task.createdAt, now),
    ...(init.length > 0 ? { initContainerStatuses: init } : {}),
    containerStatuses: app,
    qosClass: qosClass(spec),
  };
}

function qosClass(spec: ReturnType<typeof podSpec>): string {
  const all = [...(spec.initContainers ?? []), ...spec.containers];
  const any = all.some(
    (c) => Object.keys({ ...c.resources?.requests, ...c.resources?.limits }).length > 0,
  );
  if (!any) return "BestEffort";
  const guaranteed = all.every(
    (c) =>
      c.resources?.limits?.cpu !== undefined &&
      c.resources.limits.memory !== undefined &&
      (c.resources.requests?.cpu ?? c.resources.limits.cpu) === c.resources.limits.cpu &&
      (c.resources.requests?.memory ?? c.resources.limits.memory) === c.resources.limits.memory,
  );
  return guaranteed ? "Guaranteed" : "Burstable";
}

/** A pod that Fargate cannot (yet) run: Pending, PodScheduled False with the reason. */
export function unschedulableStatus(message: string, now: string): Record<string, unknown> {
  return {
    phase: "Pending",
    conditions: [
      {
        type: "PodScheduled",
        status: "False",
        reason: "Unschedulable",
        message,
        lastTransitionTime: now,
      },
    ],
    qosClass: "BestEffort",
  };
}

/**
 * The pod as its task leaves it: the status, and the node (the task's address) once there is
 * one; undefined when that is the pod as it is, so an unchanged pod costs the controller no
 * write (and its watchers no event).
 */
export function mirrorTask(
  pod: KubeObject,
  status: Record<string, unknown>,
  nodeName: string | undefined,
): KubeObject | undefined {
  const setsNode =
    nodeName !== undefined && pod.spec !== undefined && pod.spec.nodeName === undefined;
  if (!setsNode && JSON.stringify(pod.status ?? null) === JSON.stringify(status)) return undefined;
  const next = structuredClone(pod);
  next.status = status;
  if (setsNode && next.spec !== undefined) next.spec.nodeName = nodeName;
  return next;
}

/** Whether the pod's Ready condition is True. */
export function isReady(pod: KubeObject): boolean {
  const conditions =
    (pod.status?.conditions as { type: string; status: string }[] | undefined) ?? [];
  return conditions.some((c) => c.type === "Ready" && c.status === "True");
}
