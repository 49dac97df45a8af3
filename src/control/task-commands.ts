/**
 * Task commands: the one way tasks start and stop, whoever asks. RunTask and the service
 * launcher draft tasks (the ECS layer knows how) and start them here: placed and stored in one
 * transaction with their tags, then their hosts are told. StopTask (and so EKS pods), the
 * service reconciler and Spot interruptions stop them here: desired STOPPED with the first stop's
 * code and reason; a service's task behind load balancers then drains (its targets deregistered
 * and the deregistration delay waited out, best effort, as ECS's DEACTIVATING), and its host is
 * told. Host loss records its tasks STOPPED here too: there is no host left to tell.
 */
import type { Failure, Task } from "@aws-sdk/client-ecs";
import type { Insertable, Transaction } from "kysely";
import type { Logger } from "../core/index.js";
import type { TaskAssignment } from "../protocol/index.js";
import {
  putTags,
  type Database,
  type Store,
  type TagEntry,
  type TaskTable,
} from "../store/index.js";
import { markLostHosts, type LivenessPass, type LostHost } from "./hosts.js";
import type { Fence } from "./leases.js";
import { readService } from "./service-state.js";
import { drainTask, type ServiceTargets } from "./service-targets.js";
import type { TaskAddressSpace } from "./task-subnets.js";
import {
  createTasks,
  readTask,
  requestStop,
  type Placed,
  type StopRequest,
  type TaskDraft,
} from "./tasks.js";

/** How hosts hear of their tasks (the server's HostDispatcher, over the agents' channel). */
export interface TaskDispatcher {
  assign(hostId: string, assignment: TaskAssignment): void;
  stop(hostId: string, taskArn: string, stopCode: string, stoppedReason: string): void;
  /** Where placed tasks' host subnets come from; the whole 100.64.0.0/10 when absent. */
  addresses?: TaskAddressSpace;
}

export interface StartRequest {
  drafts: TaskDraft[];
  /** Put on every task placed; the caller has checked them by its service's rules. */
  tags?: readonly TagEntry[];
  /** A leader role's start (the reconciler's): stored only while this server still leads. */
  fence?: Fence;
  /** Runs in the same transaction. */
  beforeCommit?: (trx: Transaction<Database>, placed: Placed) => Promise<void>;
  /** RunTask's clientToken answer, stored with the tasks (createTasks' `answer`). */
  answer?: (placed: Placed) => Insertable<Database["idempotency"]>;
}

export interface TaskCommandsOptions {
  store: Store;
  hosts: TaskDispatcher;
  /** Load balancers' target groups; without them nothing drains. */
  targets?: ServiceTargets;
  log: Logger;
}

export class TaskCommands {
  constructor(private readonly options: TaskCommandsOptions) {}

  /** Places, stores and tags the drafts; the hosts of those placed are told at once. */
  async startTasks(request: StartRequest): Promise<{ tasks: Task[]; failures: Failure[] }> {
    const { store, hosts } = this.options;
    const tags = request.tags ?? [];
    if (tags.length > 0) for (const draft of request.drafts) draft.task.tags = [...tags];
    const placed = await createTasks(
      store,
      request.drafts,
      async (trx, result) => {
        await request.fence?.(trx);
        if (tags.length > 0)
          for (const task of result.tasks) await putTags(trx, task.taskArn ?? "", tags);
        await request.beforeCommit?.(trx, result);
      },
      hosts.addresses,
      request.answer,
    );
    for (const { hostId, assignment } of placed.assignments) hosts.assign(hostId, assignment);
    return { tasks: placed.tasks, failures: placed.failures };
  }

  /**
   * Records the stop and answers the task's row (undefined: no such task) at once; draining and
   * telling the host go on behind it. A task already STOPPED or never placed is only recorded.
   */
  async stopTask(request: StopRequest): Promise<TaskTable | undefined> {
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

  /**
   * Marks hosts silent past the pass's timeout LOST and their tasks STOPPED (hosts.ts). Nothing
   * drains and no host is told: the host is gone; the reconciler deregisters the tasks' targets.
   */
  stopLostHosts(pass: LivenessPass, fence?: Fence): Promise<LostHost[]> {
    return markLostHosts(this.options.store, pass, fence);
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
