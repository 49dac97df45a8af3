/**
 * The service reconciler: level-triggered. Every pass re-reads each service and its tasks and
 * moves actual towards desired — starting tasks for the PRIMARY deployment, stopping surplus
 * and old tasks without dropping under minimumHealthyPercent or going over maximumPercent,
 * completing and rolling back deployments (circuit breaker), and backing off a service whose
 * tasks keep failing. A missed event never leaves a service wrong: the next pass sees it.
 * This is the thin shell: it reads the service and its tasks, asks the pure planner
 * (service-plan.ts) what to do, and does it. Launches go through a `ServiceLauncher` (the ECS
 * layer drafts the tasks, then starts them with TaskCommands); stops go through TaskCommands.
 */
import type { Deployment, Service, Task } from "@aws-sdk/client-ecs";
import { SerialPass, type Clock, type Logger } from "../core/index.js";
import { dialectOf, type Store, type TaskTable } from "../store/index.js";
import { idOf, planService, serviceLabel } from "./service-plan.js";
import { addEvent, readService, writeService, type StoredService } from "./service-state.js";
import { protectedTaskArns } from "./task-protection.js";
import {
  syncServiceTargets,
  type ServiceTargets,
  type TaskTargetHealth,
} from "./service-targets.js";
import type { Fence } from "./leases.js";
import type { TaskCommands } from "./task-commands.js";
import { readTask } from "./tasks.js";

export interface ServiceLauncher {
  /** Starts `count` tasks of `deployment`; says which started and why others could not. */
  launch(
    service: Service,
    deployment: Deployment,
    count: number,
    /** The reconciler's: the tasks are stored only while this server leads. */
    fence?: Fence,
  ): Promise<{ taskArns: string[]; failures: string[] }>;
}

export interface ReconcilerOptions {
  store: Store;
  clock: Clock;
  log: Logger;
  launcher: ServiceLauncher;
  /** Stops tasks the one way every stop goes (their targets drained first). */
  tasks: TaskCommands;
  /** Load balancers' target groups, for services with `loadBalancers`. */
  targets?: ServiceTargets;
  /**
   * The leader's lease: every write of a pass (launches, stops, the service's record) is made
   * only while this server still leads, so a deposed leader waking mid-pass changes nothing.
   */
  fence?: Fence;
}

/** Stop codes that count as a task failing (for the circuit breaker and backoff). */
const FAILED_STOP_CODES = new Set(["TaskFailedToStart", "EssentialContainerExited"]);

interface ServiceTasks {
  active: Task[];
  stoppedFailures: Map<string, number>;
}

export class ServiceReconciler {
  readonly #passes: SerialPass;

  constructor(private readonly options: ReconcilerOptions) {
    this.#passes = new SerialPass(() => this.reconcileAll(), options.log, {
      deposed: "service reconciliation stopped: no longer leading",
      failed: "service reconciliation failed",
    });
  }

  start(): void {
    this.#passes.start(1000);
  }

  async stop(): Promise<void> {
    await this.#passes.stop();
  }

  /** Runs a pass now (or right after the one under way): one writer at a time. */
  kick(): void {
    void this.#passes.kick();
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
      // A task being stopped (its targets may still drain) no longer counts.
      if (row.last_status !== "STOPPED" && row.desired_status !== "STOPPED") active.push(task);
      else if (row.last_status === "STOPPED" && FAILED_STOP_CODES.has(task.stopCode ?? "")) {
        const deployment = task.startedBy ?? "";
        stoppedFailures.set(deployment, (stoppedFailures.get(deployment) ?? 0) + 1);
      }
    }
    return { active, stoppedFailures };
  }

  async #reconcile(arn: string): Promise<void> {
    const { store, clock, launcher, log, targets } = this.options;
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
    const balanced = targets !== undefined && (service.loadBalancers ?? []).length > 0;
    const plan = planService({
      service,
      extras,
      status: row.status,
      desiredCount: row.desired_count,
      active,
      stoppedFailures,
      balanced,
      targetHealth: balanced
        ? await syncServiceTargets(targets, service, active)
        : new Map<string, TaskTargetHealth>(),
      protectedArns:
        row.status === "DRAINING" ? new Set() : await protectedTaskArns(store, now.getTime()),
      now,
    });

    const events = [...plan.events];
    if (plan.launch !== undefined) {
      const { taskArns, failures } = await launcher.launch(
        plan.service,
        plan.launch.deployment,
        plan.launch.count,
        this.options.fence,
      );
      const launched: string[] = [];
      if (taskArns.length > 0)
        launched.push(
          `${serviceLabel(service)} has started ${taskArns.length} tasks: ${taskArns.map((a) => `(task ${idOf(a)})`).join(" ")}.`,
        );
      if (failures.length > 0 && taskArns.length === 0)
        launched.push(
          `${serviceLabel(service)} was unable to place a task because no container instance met all of its requirements. Reason: ${failures[0] ?? ""}.`,
        );
      events.splice(plan.launchEventsAt, 0, ...launched);
    }
    for (const { task, reason } of plan.stops)
      await this.options.tasks.stopTask({
        taskArn: task.taskArn ?? "",
        stopCode: "ServiceSchedulerInitiated",
        stoppedReason: reason,
        now,
        ...(this.options.fence === undefined ? {} : { fence: this.options.fence }),
      });

    // Write back only what the reconciler owns, on the freshest row (the API may have changed it).
    await store.transaction().execute(async (trx) => {
      await this.options.fence?.(trx);
      // Locked on PostgreSQL, so an UpdateService on another server cannot commit between this
      // read and the write below (SQLite runs one transaction at a time).
      const fresh = await trx
        .selectFrom("services")
        .selectAll()
        .where("arn", "=", arn)
        .$if(dialectOf(trx) === "postgres", (q) => q.forUpdate())
        .executeTakeFirst();
      if (fresh === undefined) return;
      const latest: StoredService = readService(fresh);
      const apiChanged = fresh.updated_at !== row.updated_at;
      if (apiChanged) {
        // A new deployment or count arrived meanwhile: keep it; take only events and counts.
        for (const deployment of latest.service.deployments ?? []) {
          const mine = plan.service.deployments?.find((d) => d.id === deployment.id);
          if (mine !== undefined)
            Object.assign(deployment, {
              runningCount: mine.runningCount,
              pendingCount: mine.pendingCount,
              failedTasks: mine.failedTasks,
            });
        }
      } else {
        latest.service.deployments = plan.service.deployments;
        latest.service.taskDefinition = plan.service.taskDefinition;
        latest.extras = plan.extras;
      }
      for (const message of events) addEvent(latest.service, message, now);
      let status = fresh.status;
      if (fresh.status === "DRAINING" && plan.remaining === 0) status = "INACTIVE";
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
}
