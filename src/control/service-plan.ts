/**
 * The service reconciler's decisions, pure: one service's stored document and what was observed
 * of its tasks in, a plan out (how many tasks to launch for which deployment, which tasks to
 * stop and why, the deployments and extras to write back, the events to record). No store, no
 * clock, no I/O: `ServiceReconciler` (services.ts) reads, calls `planService`, and carries the
 * plan out, as autoscaling's decision.ts is carried out by its autoscaler.
 */
import type { Deployment, Service, Task } from "@aws-sdk/client-ecs";
import { newDeploymentId, type ServiceExtras } from "./service-state.js";
import type { TaskTargetHealth } from "./service-targets.js";

const BACKOFF_BASE_MS = 1000;
const BACKOFF_MAX_MS = 60_000;

/** ECS's circuit breaker threshold: half the desired count, at least 3, at most 200. */
export function failureThreshold(desiredCount: number): number {
  return Math.min(200, Math.max(3, Math.ceil(desiredCount * 0.5)));
}

export interface ServiceObservation {
  /** The stored service (deployments, configuration); the planner works on a copy. */
  service: Service;
  extras: ServiceExtras;
  /** The row's status: a DRAINING (deleted) service wants no tasks and protects none. */
  status: string;
  desiredCount: number;
  /** Its tasks neither stopped nor being stopped. */
  active: Task[];
  /** Tasks that failed to start or whose essential container exited, by deployment id. */
  stoppedFailures: ReadonlyMap<string, number>;
  /** Whether the service sits behind load balancers (a task serves once its targets are healthy). */
  balanced: boolean;
  targetHealth: ReadonlyMap<string, TaskTargetHealth>;
  /** Tasks with scale-in protection (UpdateTaskProtection). */
  protectedArns: ReadonlySet<string>;
  now: Date;
  /** Names a rollback deployment (random in production; fixed in tests). */
  newDeploymentId?: () => string;
}

export interface TaskStopPlan {
  task: Task;
  reason: string;
}

export interface ServicePlan {
  service: Service;
  extras: ServiceExtras;
  /** Launch `count` tasks of `deployment` (the shell records the launch's own events). */
  launch?: { deployment: Deployment; count: number };
  /** In order: unhealthy tasks, the PRIMARY's surplus, then old deployments' tasks. */
  stops: TaskStopPlan[];
  /** Events to record; the launch's go in at `launchEventsAt`. */
  events: string[];
  launchEventsAt: number;
  /** Tasks still active once the stops are done (a DRAINING service with none is INACTIVE). */
  remaining: number;
}

export const idOf = (arn: string): string => arn.split("/").pop() ?? arn;
export const serviceLabel = (service: Service): string => `(service ${service.serviceName ?? ""})`;
const notRunningFirst = (a: Task, b: Task): number =>
  Number(a.lastStatus === "RUNNING") - Number(b.lastStatus === "RUNNING");

export function planService(observed: ServiceObservation): ServicePlan {
  const { active, balanced, targetHealth, now } = observed;
  const service = structuredClone(observed.service);
  const extras = { ...observed.extras };
  const label = serviceLabel(service);
  const events: string[] = [];
  const desired = observed.status === "DRAINING" ? 0 : observed.desiredCount;
  const config = service.deploymentConfiguration ?? {};
  const maxTotal = Math.max(desired, Math.floor((desired * (config.maximumPercent ?? 200)) / 100));
  const minHealthy = Math.ceil((desired * (config.minimumHealthyPercent ?? 100)) / 100);
  const deployments = service.deployments ?? [];
  const primary = deployments.find((d) => d.status === "PRIMARY");
  const serves = (t: Task): boolean =>
    t.lastStatus === "RUNNING" && (!balanced || targetHealth.get(t.taskArn ?? "") === "healthy");
  const running = active.filter(serves);

  // Failures since the deployment began: the circuit breaker and the backoff feed on them.
  for (const deployment of deployments)
    deployment.failedTasks = observed.stoppedFailures.get(deployment.id ?? "") ?? 0;

  // Circuit breaker.
  const breaker = config.deploymentCircuitBreaker;
  if (
    primary !== undefined &&
    breaker?.enable === true &&
    primary.rolloutState === "IN_PROGRESS" &&
    (primary.failedTasks ?? 0) >= failureThreshold(desired)
  ) {
    primary.rolloutState = "FAILED";
    primary.rolloutStateReason = "ECS deployment circuit breaker: tasks failed to start.";
    primary.updatedAt = now;
    events.push(
      `${label} (deployment ${primary.id ?? ""}) deployment failed: tasks failed to start.`,
    );
    if (breaker.rollback && extras.lastCompletedTaskDefinition !== undefined) {
      primary.status = "ACTIVE";
      const rollback: Deployment = {
        ...primary,
        id: (observed.newDeploymentId ?? newDeploymentId)(),
        status: "PRIMARY",
        taskDefinition: extras.lastCompletedTaskDefinition,
        desiredCount: desired,
        pendingCount: 0,
        runningCount: 0,
        failedTasks: 0,
        createdAt: now,
        updatedAt: now,
        rolloutState: "IN_PROGRESS",
        rolloutStateReason: "ECS deployment detected failure.",
      };
      deployments.unshift(rollback);
      service.taskDefinition = rollback.taskDefinition;
      extras.consecutiveFailures = 0;
      extras.backoffUntil = undefined;
      events.push(`${label} rolling back to deployment ${rollback.id ?? ""}.`);
    }
  }

  const current = deployments.find((d) => d.status === "PRIMARY");
  const ofCurrent = (t: Task): boolean => current !== undefined && t.startedBy === current.id;

  // Start what the PRIMARY deployment lacks, within maximumPercent, unless backing off.
  const lacking = desired - active.filter(ofCurrent).length;
  const room = maxTotal - active.length;
  const launch =
    current !== undefined &&
    current.rolloutState !== "FAILED" &&
    lacking > 0 &&
    room > 0 &&
    (extras.backoffUntil ?? 0) <= now.getTime()
      ? { deployment: current, count: Math.min(lacking, room) }
      : undefined;
  const launchEventsAt = events.length;

  const stops: TaskStopPlan[] = [];
  // Tasks that failed their health checks, once past the grace period, are replaced.
  const graceMs = (service.healthCheckGracePeriodSeconds ?? 0) * 1000;
  const pastGrace = (t: Task): boolean =>
    now.getTime() - (t.startedAt?.getTime() ?? now.getTime()) >= graceMs;
  for (const task of active.filter((t) => t.healthStatus === "UNHEALTHY" && pastGrace(t))) {
    stops.push({ task, reason: "Task failed container health checks" });
    events.push(`${label} (task ${idOf(task.taskArn ?? "")}) failed container health checks.`);
  }
  // So are tasks whose load balancer targets are unhealthy.
  const groups = (service.loadBalancers ?? []).map((lb) => lb.targetGroupArn ?? "").join(", ");
  for (const task of active) {
    if (stops.some((s) => s.task === task) || !pastGrace(task)) continue;
    if (targetHealth.get(task.taskArn ?? "") !== "unhealthy") continue;
    stops.push({ task, reason: `Task failed ELB health checks in (target-group ${groups})` });
    events.push(
      `${label} (task ${idOf(task.taskArn ?? "")}) is unhealthy in (target-group ${groups}).`,
    );
  }

  // Tasks with scale-in protection are stopped neither to scale in nor by a deployment until it
  // expires, as in ECS; a deleted (DRAINING) service stops all.
  const guarded = observed.status === "DRAINING" ? new Set<string>() : observed.protectedArns;
  const stopping = (t: Task): boolean => stops.some((s) => s.task === t);

  // Surplus of the PRIMARY deployment (scale-in): not yet running ones first. Tasks already
  // being replaced are not counted twice.
  const primaryActive = active.filter((t) => ofCurrent(t) && !stopping(t));
  const surplus = primaryActive.length - desired;
  if (surplus > 0)
    for (const task of primaryActive
      .filter((t) => !guarded.has(t.taskArn ?? ""))
      .sort(notRunningFirst)
      .slice(0, surplus))
      stops.push({
        task,
        reason: `Scaling activity initiated by (deployment ${current?.id ?? ""})`,
      });

  // Old deployments drain as new tasks run, never under minimumHealthyPercent.
  const old = active.filter((t) => !ofCurrent(t));
  let healthy = running.filter((t) => !stopping(t)).length;
  for (const task of [...old].sort(notRunningFirst)) {
    const isRunning = task.lastStatus === "RUNNING";
    if (guarded.has(task.taskArn ?? "")) continue;
    if (isRunning && healthy - 1 < minHealthy && desired > 0) continue;
    stops.push({ task, reason: `Task stopped by deployment ${current?.id ?? ""}` });
    if (isRunning) healthy--;
  }
  if (stops.length > 0)
    events.push(
      `${label} has stopped ${stops.length} running tasks: ${stops.map((s) => `(task ${idOf(s.task.taskArn ?? "")})`).join(" ")}.`,
    );

  // Counts, completion, steady state.
  const stillActive = active.filter((t) => !stopping(t));
  for (const deployment of deployments) {
    const mine = stillActive.filter((t) => t.startedBy === deployment.id);
    deployment.runningCount = mine.filter((t) => t.lastStatus === "RUNNING").length;
    deployment.pendingCount = mine.length - deployment.runningCount;
    if (deployment.status === "PRIMARY") deployment.desiredCount = desired;
  }
  if (
    current !== undefined &&
    current.rolloutState === "IN_PROGRESS" &&
    (current.runningCount ?? 0) === desired &&
    stillActive.every((t) => t.startedBy === current.id && (!balanced || serves(t)))
  ) {
    current.rolloutState = "COMPLETED";
    current.rolloutStateReason = "ECS deployment ecs-svc completed.";
    current.updatedAt = now;
    extras.lastCompletedTaskDefinition = current.taskDefinition;
    events.push(`${label} (deployment ${current.id ?? ""}) deployment completed.`);
  }
  // Deployments with no tasks left, other than the PRIMARY, are over.
  service.deployments = deployments.filter(
    (d) => d.status === "PRIMARY" || stillActive.some((t) => t.startedBy === d.id),
  );

  // Backoff: failures in a row space out launches (ECS throttles a service whose tasks keep failing).
  const failedNow = current === undefined ? 0 : (current.failedTasks ?? 0);
  if (failedNow > (extras.consecutiveFailures ?? 0)) {
    extras.consecutiveFailures = failedNow;
    const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, failedNow - 2));
    extras.backoffUntil = failedNow >= 2 ? now.getTime() + delay : undefined;
  }

  const steady =
    service.deployments.length === 1 &&
    (current?.runningCount ?? 0) === desired &&
    stillActive.every((t) => !balanced || serves(t)) &&
    observed.status === "ACTIVE";
  if (steady && extras.steady !== true) events.push(`${label} has reached a steady state.`);
  extras.steady = steady;

  return { service, extras, launch, stops, events, launchEventsAt, remaining: stillActive.length };
}
