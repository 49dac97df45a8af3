/**
 * The one way a task is stopped, whoever asks (StopTask and so EKS pods, the service reconciler,
 * Spot interruptions): its desired status becomes STOPPED with the first stop's code and reason;
 * a service's task behind load balancers then drains (its targets deregistered and the
 * deregistration delay waited out, best effort, as ECS's DEACTIVATING), and its host is told.
 */
import type { Task } from "@aws-sdk/client-ecs";
import type { Logger } from "../core/index.js";
import type { Store, TaskTable } from "../store/index.js";
import { readService } from "./service-state.js";
import { drainTask, type ServiceTargets } from "./service-targets.js";
import { readTask, requestStop, type StopRequest } from "./tasks.js";

/** Tells a host to stop one of its tasks (the agents' channel implements it). */
export interface TaskStopSender {
  stop(hostId: string, taskArn: string, stopCode: string, stoppedReason: string): void;
}

export interface TaskStopperOptions {
  store: Store;
  hosts: TaskStopSender;
  /** Load balancers' target groups; without them nothing drains. */
  targets?: ServiceTargets;
  log: Logger;
}

export class TaskStopper {
  constructor(private readonly options: TaskStopperOptions) {}

  /**
   * Records the stop and answers the task's row (undefined: no such task) at once; draining and
   * telling the host go on behind it. A task already STOPPED or never placed is only recorded.
   */
  async stop(request: StopRequest): Promise<TaskTable | undefined> {
    const row = await requestStop(this.options.store, request);
    const hostId = row?.host_id;
    if (row === undefined || hostId == null || row.last_status === "STOPPED") return row;
    const task = readTask(row);
    const send = (): void =>
      this.options.hosts.stop(
        hostId,
        request.taskArn,
        task.stopCode ?? request.stopCode,
        task.stoppedReason ?? request.stoppedReason,
      );
    const { targets, log } = this.options;
    const service = targets === undefined ? undefined : await this.#balancedService(task);
    if (targets === undefined || service === undefined) {
      send();
      return row;
    }
    // Draining is best effort: whatever it meets, the task is stopped after.
    void drainTask(targets, service, task)
      .catch((error: unknown) =>
        log.error("draining a task failed", { taskArn: request.taskArn, error: String(error) }),
      )
      .then(send);
    return row;
  }

  /** The task's service, when it has load balancers. */
  async #balancedService(task: Task) {
    const serviceName = task.group?.startsWith("service:") ? task.group.slice(8) : undefined;
    if (serviceName === undefined) return undefined;
    const row = await this.options.store
      .selectFrom("services")
      .selectAll()
      .where("cluster_name", "=", (task.clusterArn ?? "").split("/").pop() ?? "")
      .where("name", "=", serviceName)
      .executeTakeFirst();
    const service = row === undefined ? undefined : readService(row).service;
    return (service?.loadBalancers ?? []).length > 0 ? service : undefined;
  }
}
