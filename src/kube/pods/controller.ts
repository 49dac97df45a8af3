/**
 * The Fargate pod controller: level-triggered (every second, and at once when a pod or a task
 * changes), it reads every pod of every cluster and moves it on: schedules it on Fargate (a
 * profile, the size, one ECS task through the task path) or leaves it Pending with a
 * FailedScheduling event; mirrors its task into the pod's status; restarts a stopped task as
 * restartPolicy says (with back-off); stops the task of a pod being deleted and removes the pod
 * once the task is STOPPED.
 */
import type { Task } from "@aws-sdk/client-ecs";
import type { Clock, Logger } from "../../core/index.js";
import type { Store } from "../../store/index.js";
import { ControllerLoop } from "../controller-loop.js";
import { recordEvent } from "../events.js";
import { kubeTime, type KubeObject, type KubeObjects } from "../objects.js";
import { RESOURCES, type ResourceType } from "../resources.js";
import {
  CAPACITY_ANNOTATION,
  podSpec,
  selectProfile,
  sizePod,
  unschedulableReason,
  type FargateProfileView,
} from "./fargate.js";
import {
  isReady,
  mirrorTask,
  nodeNameOf,
  podStatusFromTask,
  taskAddress,
  unschedulableStatus,
} from "./pod-status.js";
import type { PodTaskPort } from "./port.js";
import { podTaskDefinition } from "./task-spec.js";

export const PODS = RESOURCES.find((r) => r.resource === "pods") as ResourceType;
/** Where a pod keeps its current task (Berth's own annotation). */
export const TASK_ANNOTATION = "berth.dev/task-arn";
const COMPONENT = "fargate-scheduler";

export interface PodControllerOptions {
  store: Store;
  objects: KubeObjects;
  port: PodTaskPort;
  clock: Clock;
  log: Logger;
  region: string;
  intervalMs?: number;
}

/**
 * Lets the event loop run once. A watch's response is flushed on the next tick, and a chain of
 * store calls (SQLite's run synchronously, as microtasks) holds every tick back to its end:
 * without this, a pod's Ready reached kubectl only after the Started event was written too, and
 * a new pod's first events only after the whole pass (0.5 s later at load average 16).
 */
const letWatchersSee = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class PodController extends ControllerLoop {
  /** Tasks asked to stop (so a stop is sent once per pod deletion). */
  readonly #stopping = new Set<string>();
  /** Whether the last pass found an EKS cluster (assumed until the first pass). */
  #clustersSeen = true;

  constructor(private readonly options: PodControllerOptions) {
    super(options, ["pods"], "pod controller");
  }

  /**
   * A task changed: pods mirror it at once, when there can be pods. With no EKS cluster there
   * is none, and the timed pass (every second) finds a new cluster: every task report of every
   * task kicked a pass, a statement each (bench:placement on PostgreSQL: 454 for 263 RunTasks).
   */
  taskChanged(): void {
    if (this.#clustersSeen) this.kick();
  }

  protected override async pass(): Promise<void> {
    // Passes kicked while one ran follow it at once: the last one's writes go out first.
    await letWatchersSee();
    const clusters = await this.options.store.selectFrom("eks_clusters").select("name").execute();
    this.#clustersSeen = clusters.length > 0;
    for (const { name: cluster } of clusters) {
      const { items } = await this.options.objects.list(cluster, PODS);
      if (items.length === 0) continue;
      const arns = items
        .map((p) => p.metadata.annotations?.[TASK_ANNOTATION])
        .filter((a): a is string => a !== undefined);
      const tasks = await this.options.port.read(arns);
      const profiles = await this.#profiles(cluster);
      for (const pod of items) {
        try {
          await this.#reconcile(cluster, pod, tasks, profiles);
        } catch (error) {
          this.options.log.warn("pod reconcile failed", {
            cluster,
            pod: `${pod.metadata.namespace ?? ""}/${pod.metadata.name ?? ""}`,
            error: error instanceof Error ? error.message : String(error),
          });
        }
      }
    }
  }

  async #profiles(cluster: string): Promise<FargateProfileView[]> {
    const rows = await this.options.store
      .selectFrom("eks_fargate_profiles")
      .select(["name", "document"])
      .where("cluster_name", "=", cluster)
      .execute();
    return rows.map((r) => {
      const doc = JSON.parse(r.document) as {
        selectors?: FargateProfileView["selectors"];
        subnets?: string[];
      };
      return { name: r.name, selectors: doc.selectors ?? [], subnets: doc.subnets ?? [] };
    });
  }

  async #reconcile(
    cluster: string,
    pod: KubeObject,
    tasks: Map<string, Task>,
    profiles: FargateProfileView[],
  ): Promise<void> {
    const { objects, port, clock } = this.options;
    const namespace = pod.metadata.namespace ?? "default";
    const name = pod.metadata.name ?? "";
    const taskArn = pod.metadata.annotations?.[TASK_ANNOTATION];
    const task = taskArn === undefined ? undefined : tasks.get(taskArn);
    const now = clock.now();

    if (pod.metadata.deletionTimestamp !== undefined) {
      const grace = pod.metadata.deletionGracePeriodSeconds ?? 30;
      if (task !== undefined && task.lastStatus !== "STOPPED" && grace > 0) {
        if (!this.#stopping.has(task.taskArn ?? "")) {
          this.#stopping.add(task.taskArn ?? "");
          await port.stop(cluster, task.taskArn ?? "", "Pod deleted");
        }
        return;
      }
      if (task !== undefined && task.lastStatus !== "STOPPED")
        await port.stop(cluster, task.taskArn ?? "", "Pod deleted");
      this.#stopping.delete(task?.taskArn ?? "");
      await objects.delete(cluster, PODS, namespace, name).catch(() => undefined);
      return;
    }

    if (taskArn === undefined) {
      await this.#schedule(cluster, pod, profiles, now);
      return;
    }
    if (task === undefined) return;

    const spec = podSpec(pod);
    const restartCount = Number(pod.metadata.annotations?.["berth.dev/restart-count"] ?? "0");
    const stopped = task.lastStatus === "STOPPED";
    const restartPolicy = spec.restartPolicy ?? "Always";
    const failed = (task.containers ?? []).some(
      (c) => c.exitCode !== undefined && c.exitCode !== null && c.exitCode !== 0,
    );
    if (stopped && (restartPolicy === "Always" || (restartPolicy === "OnFailure" && failed))) {
      // The kubelet's back-off: 10 s doubling up to 5 minutes between restarts.
      const backoff = Math.min(10_000 * 2 ** restartCount, 300_000);
      const stoppedAt = task.stoppedAt === undefined ? 0 : new Date(task.stoppedAt).getTime();
      if (now.getTime() - stoppedAt >= backoff) {
        await this.#launch(cluster, pod, profiles, restartCount + 1, now);
        return;
      }
    }
    const status = podStatusFromTask(pod, {
      task,
      restartCount,
      region: this.options.region,
      now: kubeTime(now),
    });
    const address = taskAddress(task);
    const nodeName = address === undefined ? undefined : nodeNameOf(address, this.options.region);
    // Most passes change nothing for most pods: those cost no write transaction.
    if (mirrorTask(pod, status, nodeName) === undefined) return;
    const wasReady = isReady(pod);
    const updated = await objects.update(cluster, PODS, namespace, name, (current) => {
      const next = mirrorTask(current, status, nodeName) ?? current;
      next.metadata.resourceVersion = undefined;
      return next;
    });
    if (!wasReady && isReady(updated)) {
      // The Ready pod goes out to the watchers (`kubectl wait`) before the events are written.
      await letWatchersSee();
      for (const c of spec.containers)
        await recordEvent(
          objects,
          cluster,
          updated,
          {
            type: "Normal",
            reason: "Started",
            message: `Started container ${c.name}`,
            component: "kubelet",
          },
          now,
        );
    }
  }

  async #schedule(
    cluster: string,
    pod: KubeObject,
    profiles: FargateProfileView[],
    now: Date,
  ): Promise<void> {
    const reason =
      unschedulableReason(pod) ??
      (selectProfile(pod, profiles) === undefined
        ? "0/0 nodes are available: no Fargate profile matches the pod's namespace and labels."
        : undefined);
    if (reason !== undefined) {
      await this.#unschedulable(cluster, pod, reason, now);
      return;
    }
    await this.#launch(cluster, pod, profiles, 0, now);
  }

  async #unschedulable(
    cluster: string,
    pod: KubeObject,
    message: string,
    now: Date,
  ): Promise<void> {
    const conditions =
      (pod.status?.conditions as { type: string; message?: string }[] | undefined) ?? [];
    if (conditions.some((c) => c.type === "PodScheduled" && c.message === message)) return;
    const updated = await this.options.objects.update(
      cluster,
      PODS,
      pod.metadata.namespace ?? "default",
      pod.metadata.name ?? "",
      (current) => {
        current.status = unschedulableStatus(message, kubeTime(now));
        current.metadata.resourceVersion = undefined;
        return current;
      },
    );
    await recordEvent(
      this.options.objects,
      cluster,
      updated,
      { type: "Warning", reason: "FailedScheduling", message, component: COMPONENT },
      now,
    );
  }

  async #launch(
    cluster: string,
    pod: KubeObject,
    profiles: FargateProfileView[],
    restartCount: number,
    now: Date,
  ): Promise<void> {
    const { objects, port } = this.options;
    const profile = selectProfile(pod, profiles);
    const size = sizePod(pod, port.sizes);
    if (profile === undefined || size === undefined) {
      await this.#unschedulable(
        cluster,
        pod,
        size === undefined
          ? "Pod not supported on Fargate: its requests exceed the largest Fargate size"
          : "0/0 nodes are available: no Fargate profile matches the pod's namespace and labels.",
        now,
      );
      return;
    }
    const result = await port.run(cluster, podTaskDefinition(cluster, pod, size), {
      subnets: profile.subnets,
      startedBy: `eks:${pod.metadata.uid ?? ""}`.slice(0, 36),
      group: `pod:${pod.metadata.namespace ?? "default"}`,
    });
    if ("failure" in result) {
      await this.#unschedulable(cluster, pod, `0/1 nodes are available: ${result.failure}.`, now);
      return;
    }
    const updated = await objects.update(
      cluster,
      PODS,
      pod.metadata.namespace ?? "default",
      pod.metadata.name ?? "",
      (current) => {
        current.metadata.annotations = {
          ...current.metadata.annotations,
          [CAPACITY_ANNOTATION]: size.capacity,
          [TASK_ANNOTATION]: result.taskArn,
          "berth.dev/restart-count": String(restartCount),
        };
        current.metadata.labels = {
          ...current.metadata.labels,
          "eks.amazonaws.com/fargate-profile": profile.name,
        };
        current.metadata.resourceVersion = undefined;
        return current;
      },
    );
    await letWatchersSee();
    if (restartCount === 0)
      await recordEvent(
        objects,
        cluster,
        updated,
        {
          type: "Normal",
          reason: "Scheduled",
          message: `Successfully assigned ${updated.metadata.namespace ?? ""}/${updated.metadata.name ?? ""} to Fargate (${size.capacity}, profile ${profile.name})`,
          component: COMPONENT,
        },
        now,
      );
  }
}
