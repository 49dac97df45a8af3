/**
 * The service reconciler: level-triggered. Every pass re-reads each service and its tasks and
 * moves actual towards desired — starting tasks for the PRIMARY deployment, stopping surplus
 * and old tasks without dropping under minimumHealthyPercent or going over maximumPercent,
 * completing and rolling back deployments (circuit breaker), and backing off a service whose
 * tasks keep failing. A missed event never leaves a service wrong: the next pass sees it.
 * Launching and stopping are delegated to a `ServiceLauncher` (the ECS layer knows how a task
 * is drafted); this module only decides.
 */
import type { Deployment, Service, Task } from "@aws-sdk/client-ecs";
import type { Clock, Logger } from "../core/index.js";
import type { Store, TaskTable } from "../store/index.js";
import {
  addEvent,
  newDeploymentId,
  readService,
  writeService,
  type StoredService,
} from "./service-state.js";
import { protectedTaskArns } from "./task-protection.js";
import {
  drainTask,
  syncServiceTargets,
  taskAddress,
  type ServiceTargets,
  type TaskTargetHealth,
} from "./service-targets.js";
import { readTask } from "./tasks.js";

export interface ServiceLauncher {
  /** Starts `count` tasks of `deployment`; says which started and why others could not. */
  launch(
    service: Service,
    deployment: Deployment,
    count: number,
  ): Promise<{ taskArns: string[]; failures: string[] }>;
  /** Stops a task with stopCode ServiceSchedulerInitiated. */
  stop(taskArn: string, reason: string): Promise<void>;
}

export interface ReconcilerOptions {
  store: Store;
  clock: Clock;
  log: Logger;
  launcher: ServiceLauncher;
  /** Load balancers' target groups, for services with `loadBalancers`. */
  targets?: ServiceTargets;
  intervalMs?: number;
}

/** Stop codes that count as a task failing (for the circuit breaker and backoff). */
const FAILED_STOP_CODES = new Set(["TaskFailedToStart", "EssentialContainerExited"]);
const BACKOFF_BASE_MS = 1000;
const BACKOFF_MAX_MS = 60_000;

/** ECS's circuit breaker threshold: half the desired count, at least 3, at most 200. */
export function failureThreshold(desiredCount: number): number {
  return Math.min(200, Math.max(3, Math.ceil(desiredCount * 0.5)));
}

const idOf = (arn: string): string => arn.split("/").pop() ?? arn;
const serviceLabel = (service: Service): string => `(service ${service.serviceName ?? ""})`;

interface ServiceTasks {
  active: Task[];
  stoppedFailures: Map<string, number>;
}

export class ServiceReconciler {
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  /** Tasks whose targets drain before they are told to stop: no longer counted as active. */
  readonly #draining = new Set<string>();

  constructor(private readonly options: ReconcilerOptions) {}

  start(): void {
    this.#timer = setInterval(() => this.kick(), this.options.intervalMs ?? 1000);
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#running;
  }

  /** Runs a pass now (or right after the one under way): one writer at a time. */
  kick(): void {
    if (this.#running !== undefined) {
      this.#again = true;
      return;
    }
    this.#running = this.reconcileAll()
      .catch((error: unknown) =>
        this.options.log.error("service reconciliation failed", {
          error: error instanceof Error ? error.stack : String(error),
        }),
      )
      .finally(() => {
        this.#running = undefined;
        if (this.#again) {
          this.#again = false;
          this.kick();
        }
      });
  }

  async reconcileAll(): Promise<void> {
    const rows = await this.options.store
      .selectFrom("services")
      .select("arn")
      .where("status", "!=", "INACTIVE")
      .execute();
    for (const { arn } of rows) await this.#reconcile(arn);
  }

  async #tasksOf(clusterName: string, serviceName: string): Promise<ServiceTasks> {
    const rows: TaskTable[] = await this.options.store
      .selectFrom("tasks")
      .selectAll()
      .where("cluster_name", "=", clusterName)
      .where("group_name", "=", `service:${serviceName}`)
      .where((eb) =>
        eb.or([
          eb("last_status", "!=", "STOPPED"),
          eb("stopped_at", ">", this.options.clock.now().getTime() - 3_600_000),
        ]),
      )
      .execute();
    const active: Task[] = [];
    const stoppedFailures = new Map<string, number>();
    for (const row of rows) {
      const task = readTask(row);
      if (
        row.last_status !== "STOPPED" &&
        row.desired_status !== "STOPPED" &&
        !this.#draining.has(row.arn)
      )
        active.push(task);
      else if (row.last_status === "STOPPED" && FAILED_STOP_CODES.has(task.stopCode ?? "")) {
        const deployment = task.startedBy ?? "";
        stoppedFailures.set(deployment, (stoppedFailures.get(deployment) ?? 0) + 1);
      }
    }
    return { active, stoppedFailures };
  }

  async #reconcile(arn: string): Promise<void> {
    const { store, clock, launcher, log } = this.options;
    const row = await store
      .selectFrom("services")
      .selectAll()
      .where("arn", "=", arn)
      .executeTakeFirst();
    if (row === undefined || row.status === "INACTIVE") return;
    const { service, extras } = readService(row);
    const name = service.serviceName ?? "";
    const { active, stoppedFailures } = await this.#tasksOf(row.cluster_name, name);
    const now = clock.now();
    const events: string[] = [];
    const desired = row.status === "DRAINING" ? 0 : row.desired_count;
    const config = service.deploymentConfiguration ?? {};
    const maxTotal = Math.max(
      desired,
      Math.floor((desired * (config.maximumPercent ?? 200)) / 100),
    );
    const minHealthy = Math.ceil((desired * (config.minimumHealthyPercent ?? 100)) / 100);
    const deployments = service.deployments ?? [];
    const primary = deployments.find((d) => d.status === "PRIMARY");
    // Behind a load balancer a task serves once its targets are healthy: only then does it
    // count towards minimumHealthyPercent and the deployment's completion.
    const balanced = this.options.targets !== undefined && (service.loadBalancers ?? []).length > 0;
    const targetHealth: Map<string, TaskTargetHealth> =
      balanced && this.options.targets !== undefined
        ? await syncServiceTargets(this.options.targets, service, active)
        : new Map<string, TaskTargetHealth>();
    const serves = (t: Task): boolean =>
      t.lastStatus === "RUNNING" && (!balanced || targetHealth.get(t.taskArn ?? "") === "healthy");
    const running = active.filter(serves);
    const others = active.filter((t) => primary === undefined || t.startedBy !== primary.id);

    // Failures since the deployment began: the circuit breaker and the backoff feed on them.
    for (const deployment of deployments)
      deployment.failedTasks = stoppedFailures.get(deployment.id ?? "") ?? 0;

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
        `${serviceLabel(service)} (deployment ${primary.id ?? ""}) deployment failed: tasks failed to start.`,
      );
      if (breaker.rollback && extras.lastCompletedTaskDefinition !== undefined) {
        primary.status = "ACTIVE";
        const rollback: Deployment = {
          ...primary,
          id: newDeploymentId(),
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
        events.push(`${serviceLabel(service)} rolling back to deployment ${rollback.id ?? ""}.`);
      }
    }

    const current = deployments.find((d) => d.status === "PRIMARY");
    const launching = current !== undefined && current.rolloutState !== "FAILED";

    // Start what the PRIMARY deployment lacks, within maximumPercent, unless backing off.
    const lacking =
      desired - active.filter((t) => current !== undefined && t.startedBy === current.id).length;
    const room = maxTotal - active.length;
    if (launching && lacking > 0 && room > 0 && (extras.backoffUntil ?? 0) <= now.getTime()) {
      const { taskArns, failures } = await launcher.launch(
        service,
        current,
        Math.min(lacking, room),
      );
      if (taskArns.length > 0)
        events.push(
          `${serviceLabel(service)} has started ${taskArns.length} tasks: ${taskArns.map((a) => `(task ${idOf(a)})`).join(" ")}.`,
        );
      if (failures.length > 0 && taskArns.length === 0)
        events.push(
          `${serviceLabel(service)} was unable to place a task because no container instance met all of its requirements. Reason: ${failures[0] ?? ""}.`,
        );
    }

    // Tasks that failed their health checks, once past the grace period, are replaced.
    const graceMs = (service.healthCheckGracePeriodSeconds ?? 0) * 1000;
    const pastGrace = (t: Task): boolean =>
      now.getTime() - (t.startedAt?.getTime() ?? now.getTime()) >= graceMs;
    const unhealthy = active.filter((t) => t.healthStatus === "UNHEALTHY" && pastGrace(t));
    for (const task of unhealthy) {
      await this.#stop(service, task, "Task failed container health checks");
      events.push(
        `${serviceLabel(service)} (task ${idOf(task.taskArn ?? "")}) failed container health checks.`,
      );
    }
    // So are tasks whose load balancer targets are unhealthy.
    const groups = (service.loadBalancers ?? []).map((lb) => lb.targetGroupArn ?? "").join(", ");
    for (const task of active) {
      if (unhealthy.includes(task) || targetHealth.get(task.taskArn ?? "") !== "unhealthy")
        continue;
      if (!pastGrace(task)) continue;
      unhealthy.push(task);
      await this.#stop(service, task, `Task failed ELB health checks in (target-group ${groups})`);
      events.push(
        `${serviceLabel(service)} (task ${idOf(task.taskArn ?? "")}) is unhealthy in (target-group ${groups}).`,
      );
    }

    // Tasks with scale-in protection (UpdateTaskProtection) are stopped neither to scale in
    // nor by a deployment until it expires, as in ECS; a deleted (DRAINING) service stops all.
    const guarded =
      row.status === "DRAINING"
        ? new Set<string>()
        : await protectedTaskArns(this.options.store, now.getTime());

    // Surplus of the PRIMARY deployment (scale-in): not yet running ones first.
    const primaryActive =
      current === undefined ? [] : active.filter((t) => t.startedBy === current.id);
    const surplus = primaryActive.length - desired;
    const stopped: string[] = unhealthy.map((t) => t.taskArn ?? "");
    if (surplus > 0) {
      const order = primaryActive
        .filter((t) => !guarded.has(t.taskArn ?? ""))
        .sort((a, b) => Number(a.lastStatus === "RUNNING") - Number(b.lastStatus === "RUNNING"));
      for (const task of order.slice(0, surplus)) {
        await this.#stop(
          service,
          task,
          `Scaling activity initiated by (deployment ${current?.id ?? ""})`,
        );
        stopped.push(task.taskArn ?? "");
      }
    }

    // Old deployments drain as new tasks run, never under minimumHealthyPercent.
    const old = current === undefined ? others : active.filter((t) => t.startedBy !== current.id);
    let healthy = running.filter((t) => !stopped.includes(t.taskArn ?? "")).length;
    for (const task of [...old].sort(
      (a, b) => Number(a.lastStatus === "RUNNING") - Number(b.lastStatus === "RUNNING"),
    )) {
      const isRunning = task.lastStatus === "RUNNING";
      if (guarded.has(task.taskArn ?? "")) continue;
      if (isRunning && healthy - 1 < minHealthy && desired > 0) continue;
      await this.#stop(service, task, `Task stopped by deployment ${current?.id ?? ""}`);
      stopped.push(task.taskArn ?? "");
      if (isRunning) healthy--;
    }
    if (stopped.length > 0)
      events.push(
        `${serviceLabel(service)} has stopped ${stopped.length} running tasks: ${stopped.map((a) => `(task ${idOf(a)})`).join(" ")}.`,
      );

    // Counts, completion, steady state.
    const stillActive = active.filter((t) => !stopped.includes(t.taskArn ?? ""));
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
      events.push(
        `${serviceLabel(service)} (deployment ${current.id ?? ""}) deployment completed.`,
      );
    }
    // Deployments with no tasks left, other than the PRIMARY, are over.
    service.deployments = deployments.filter(
      (d) => d.status === "PRIMARY" || stillActive.some((t) => t.startedBy === d.id),
    );

    // Backoff: failures in a row space out launches (ECS throttles a service whose tasks keep failing).
    const failedNow = current === undefined ? 0 : (current.failedTasks ?? 0);
    const previousFailures = extras.consecutiveFailures ?? 0;
    if (failedNow > previousFailures) {
      extras.consecutiveFailures = failedNow;
      const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, failedNow - 2));
      extras.backoffUntil = failedNow >= 2 ? now.getTime() + delay : undefined;
    }

    const steady =
      service.deployments.length === 1 &&
      (current?.runningCount ?? 0) === desired &&
      stillActive.every((t) => !balanced || serves(t)) &&
      row.status === "ACTIVE";
    if (steady && extras.steady !== true)
      events.push(`${serviceLabel(service)} has reached a steady state.`);
    extras.steady = steady;

    // Write back only what the reconciler owns, on the freshest row (the API may have changed it).
    await store.transaction().execute(async (trx) => {
      const fresh = await trx
        .selectFrom("services")
        .selectAll()
        .where("arn", "=", arn)
        .executeTakeFirst();
      if (fresh === undefined) return;
      const latest: StoredService = readService(fresh);
      const apiChanged = fresh.updated_at !== row.updated_at;
      if (apiChanged) {
        // A new deployment or count arrived meanwhile: keep it; take only events and counts.
        for (const deployment of latest.service.deployments ?? []) {
          const mine = service.deployments?.find((d) => d.id === deployment.id);
          if (mine !== undefined)
            Object.assign(deployment, {
              runningCount: mine.runningCount,
              pendingCount: mine.pendingCount,
              failedTasks: mine.failedTasks,
            });
        }
      } else {
        latest.service.deployments = service.deployments;
        latest.service.taskDefinition = service.taskDefinition;
        latest.extras = extras;
      }
      for (const message of events) addEvent(latest.service, message, now);
      let status = fresh.status;
      if (fresh.status === "DRAINING" && stillActive.length === 0) status = "INACTIVE";
      await trx
        .updateTable("services")
        .set({
          document: writeService(latest),
          status,
          ...(apiChanged ? {} : { updated_at: fresh.updated_at }),
        })
        .where("arn", "=", arn)
        .execute();
    });
    if (events.length > 0) log.debug("service reconciled", { service: name, events });
  }

  /**
   * Stops a task; behind a load balancer its targets drain first (ECS deregisters a task and
   * waits out the deregistration delay before stopping it), meanwhile it no longer counts.
   */
  async #stop(service: Service, task: Task, reason: string): Promise<void> {
    const { launcher, targets, log } = this.options;
    const arn = task.taskArn ?? "";
    const balanced = targets !== undefined && (service.loadBalancers ?? []).length > 0;
    if (!balanced || taskAddress(task) === undefined) {
      await launcher.stop(arn, reason);
      return;
    }
    this.#draining.add(arn);
    drainTask(targets, service, task)
      .catch((error: unknown) => log.error("draining a task failed", { arn, error: String(error) }))
      .then(() => launcher.stop(arn, reason))
      .catch((error: unknown) => log.error("stopping a task failed", { arn, error: String(error) }))
      .finally(() => {
        this.#draining.delete(arn);
        this.kick();
      });
  }
}
