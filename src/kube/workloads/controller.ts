/**
 * The Deployment and ReplicaSet controllers, and the garbage collector for what they own, in
 * one level-triggered loop (every second, and at once when a Deployment, ReplicaSet or pod
 * changes). Per cluster, one pass: ReplicaSets and pods whose owner is gone are deleted
 * (background cascading deletion, so `kubectl delete deploy` stops every task); each
 * Deployment gets the ReplicaSet of its current template and one step of its rollout
 * (rollout.ts); each ReplicaSet gets as many live pods as it wants (created from its template,
 * deleted gracefully, unready and newest first); statuses are written from the pods counted.
 */
import type { Clock, Logger } from "../../core/index.js";
import type { Store } from "../../store/index.js";
import { ControllerLoop } from "../controller-loop.js";
import { recordEvent } from "../events.js";
import {
  kubeTime,
  nameSuffix,
  type KubeObject,
  type KubeObjects,
  type ObjectMeta,
} from "../objects.js";
import { isReady } from "../pods/pod-status.js";
import { RESOURCES, type ResourceType } from "../resources.js";
import { planRollout, surgeAndUnavailable, templateHash } from "./rollout.js";

const byResource = (resource: string) => RESOURCES.find((r) => r.resource === resource);
export const DEPLOYMENTS = byResource("deployments") as ResourceType;
export const REPLICASETS = byResource("replicasets") as ResourceType;
const PODS = byResource("pods") as ResourceType;

export const REVISION = "deployment.kubernetes.io/revision";
const HASH = "pod-template-hash";
/** Pods one ReplicaSet creates per pass (the controller's burst), so one pass stays short. */
const BURST = 50;

export interface WorkloadControllerOptions {
  store: Store;
  objects: KubeObjects;
  clock: Clock;
  log: Logger;
  /** Creates a pod the way the API does (the pod kind's defaults and checks). */
  createPod(cluster: string, pod: KubeObject): Promise<KubeObject>;
  /** Deletes a pod the way the API does (gracefully: its task stops first). */
  deletePod(cluster: string, pod: KubeObject): Promise<unknown>;
}

type Owner = NonNullable<ObjectMeta["ownerReferences"]>[number];

const controllerOf = (o: KubeObject): Owner | undefined =>
  o.metadata.ownerReferences?.find((r) => r.controller === true);
const live = (o: KubeObject) => o.metadata.deletionTimestamp === undefined;
const revisionOf = (o: KubeObject) => Number(o.metadata.annotations?.[REVISION] ?? "0");
const replicasOf = (o: KubeObject) => Number(o.spec?.replicas ?? 1);

function ownerReference(owner: KubeObject): Owner {
  return {
    apiVersion: owner.apiVersion ?? "apps/v1",
    kind: owner.kind ?? "",
    name: owner.metadata.name ?? "",
    uid: owner.metadata.uid ?? "",
    controller: true,
    blockOwnerDeletion: true,
  };
}

export class WorkloadController extends ControllerLoop {
  constructor(private readonly options: WorkloadControllerOptions) {
    super(options, ["pods", "deployments.apps", "replicasets.apps"], "workload controller");
  }

  protected override async pass(): Promise<void> {
    const clusters = await this.options.store.selectFrom("eks_clusters").select("name").execute();
    for (const { name: cluster } of clusters) {
      const { objects } = this.options;
      const deployments = (await objects.list(cluster, DEPLOYMENTS)).items;
      let sets = (await objects.list(cluster, REPLICASETS)).items;
      if (deployments.length === 0 && sets.length === 0) continue;
      sets = await this.#collectSets(cluster, deployments, sets);
      const pods = await this.#collectPods(cluster, sets);
      for (const deployment of deployments) {
        try {
          await this.#syncDeployment(cluster, deployment, sets, pods);
        } catch (error) {
          this.#warn("deployment sync failed", cluster, deployment, error);
        }
      }
      // The ReplicaSets as the Deployments just left them, and their pods as of now.
      const now = (await objects.list(cluster, PODS)).items;
      for (const set of (await objects.list(cluster, REPLICASETS)).items) {
        try {
          await this.#syncReplicaSet(cluster, set, now);
        } catch (error) {
          this.#warn("replicaset sync failed", cluster, set, error);
        }
      }
    }
  }

  #warn(message: string, cluster: string, object: KubeObject, error: unknown): void {
    this.options.log.warn(message, {
      cluster,
      object: `${object.metadata.namespace ?? ""}/${object.metadata.name ?? ""}`,
      error: error instanceof Error ? error.message : String(error),
    });
  }

  /** Deletes ReplicaSets whose Deployment is gone; the ones left. */
  async #collectSets(
    cluster: string,
    deployments: KubeObject[],
    sets: KubeObject[],
  ): Promise<KubeObject[]> {
    const owners = new Set(deployments.map((d) => d.metadata.uid));
    const kept: KubeObject[] = [];
    for (const set of sets) {
      const owner = controllerOf(set);
      if (owner?.kind === "Deployment" && !owners.has(owner.uid))
        await this.options.objects
          .delete(cluster, REPLICASETS, set.metadata.namespace ?? "", set.metadata.name ?? "")
          .catch(() => undefined);
      else kept.push(set);
    }
    return kept;
  }

  /** Deletes (gracefully) pods whose ReplicaSet is gone; every pod of the cluster. */
  async #collectPods(cluster: string, sets: KubeObject[]): Promise<KubeObject[]> {
    const owners = new Set(sets.map((s) => s.metadata.uid));
    const pods = (await this.options.objects.list(cluster, PODS)).items;
    for (const pod of pods) {
      const owner = controllerOf(pod);
      if (owner?.kind === "ReplicaSet" && !owners.has(owner.uid) && live(pod))
        await this.options.deletePod(cluster, pod).catch(() => undefined);
    }
    return pods;
  }

  async #event(
    cluster: string,
    object: KubeObject,
    reason: string,
    message: string,
    type: "Normal" | "Warning" = "Normal",
  ): Promise<void> {
    const component =
      object.kind === "Deployment" ? "deployment-controller" : "replicaset-controller";
    await recordEvent(
      this.options.objects,
      cluster,
      object,
      { type, reason, message, component },
      this.options.clock.now(),
    );
  }

  async #setReplicas(
    cluster: string,
    deployment: KubeObject,
    set: KubeObject,
    replicas: number,
  ): Promise<void> {
    const before = replicasOf(set);
    if (before === replicas) return;
    await this.options.objects.update(
      cluster,
      REPLICASETS,
      set.metadata.namespace ?? "",
      set.metadata.name ?? "",
      (current) => {
        current.spec = { ...current.spec, replicas };
        current.metadata.annotations = {
          ...current.metadata.annotations,
          "deployment.kubernetes.io/desired-replicas": String(replicasOf(deployment)),
        };
        current.metadata.resourceVersion = undefined;
        return current;
      },
    );
    await this.#event(
      cluster,
      deployment,
      "ScalingReplicaSet",
      `Scaled ${replicas > before ? "up" : "down"} replica set ${set.metadata.name ?? ""} from ${before} to ${replicas}`,
    );
  }

  async #syncDeployment(
    cluster: string,
    deployment: KubeObject,
    allSets: KubeObject[],
    pods: KubeObject[],
  ): Promise<void> {
    const { objects } = this.options;
    const namespace = deployment.metadata.namespace ?? "default";
    const name = deployment.metadata.name ?? "";
    const spec = deployment.spec ?? {};
    const desired = replicasOf(deployment);
    const template = (spec.template ?? {}) as KubeObject;
    const hash = templateHash(template);
    const owned = allSets
      .filter((s) => controllerOf(s)?.uid === deployment.metadata.uid)
      .sort((a, b) => revisionOf(a) - revisionOf(b));
    const maxRevision = owned.reduce((n, s) => Math.max(n, revisionOf(s)), 0);
    let current = owned.find((s) => s.metadata.labels?.[HASH] === hash);
    const counts = (set: KubeObject) => {
      const mine = pods.filter((p) => live(p) && controllerOf(p)?.uid === set.metadata.uid);
      return { pods: mine.length, available: mine.filter(isReady).length };
    };
    const strategy = (spec.strategy ?? {}) as {
      type?: string;
      rollingUpdate?: { maxSurge?: unknown; maxUnavailable?: unknown };
    };
    const old = owned.filter((s) => s !== current);
    const input = {
      desired,
      strategy: strategy.type === "Recreate" ? ("Recreate" as const) : ("RollingUpdate" as const),
      maxSurge: strategy.rollingUpdate?.maxSurge,
      maxUnavailable: strategy.rollingUpdate?.maxUnavailable,
      current:
        current === undefined
          ? { replicas: 0, available: 0 }
          : { replicas: replicasOf(current), available: counts(current).available },
      // Recreate waits for the old pods to be gone, not just asked to go.
      old: old.map((s) => ({
        name: s.metadata.name ?? "",
        replicas: Math.max(replicasOf(s), strategy.type === "Recreate" ? counts(s).pods : 0),
        available: counts(s).available,
      })),
    };
    const step = planRollout(input);
    if (current === undefined) {
      const selector = (spec.selector ?? {}) as { matchLabels?: Record<string, string> };
      const templateMeta = template.metadata ?? {};
      const revision = String(maxRevision + 1);
      current = await objects.create(cluster, REPLICASETS, {
        metadata: {
          name: `${name}-${hash}`,
          namespace,
          labels: { ...templateMeta.labels, [HASH]: hash },
          annotations: {
            [REVISION]: revision,
            "deployment.kubernetes.io/desired-replicas": String(desired),
            "deployment.kubernetes.io/max-replicas": String(
              desired + surgeAndUnavailable(input).surge,
            ),
          },
          ownerReferences: [ownerReference(deployment)],
        },
        spec: {
          replicas: step.current,
          minReadySeconds: spec.minReadySeconds ?? 0,
          selector: {
            ...selector,
            matchLabels: { ...selector.matchLabels, [HASH]: hash },
          },
          template: {
            ...template,
            metadata: { ...templateMeta, labels: { ...templateMeta.labels, [HASH]: hash } },
          },
        },
        status: { replicas: 0 },
      });
      if (step.current > 0)
        await this.#event(
          cluster,
          deployment,
          "ScalingReplicaSet",
          `Scaled up replica set ${current.metadata.name ?? ""} from 0 to ${step.current}`,
        );
    } else {
      if (revisionOf(current) < maxRevision)
        // A rollback to an older template makes its ReplicaSet the newest revision again.
        current = await objects.update(
          cluster,
          REPLICASETS,
          namespace,
          current.metadata.name ?? "",
          (rs) => {
            rs.metadata.annotations = {
              ...rs.metadata.annotations,
              [REVISION]: String(maxRevision + 1),
            };
            rs.metadata.resourceVersion = undefined;
            return rs;
          },
        );
      await this.#setReplicas(cluster, deployment, current, step.current);
    }
    for (const set of old) {
      const next = step.old.get(set.metadata.name ?? "");
      if (next !== undefined) await this.#setReplicas(cluster, deployment, set, next);
    }
    await this.#pruneHistory(cluster, deployment, old, pods);
    await this.#writeDeploymentStatus(cluster, deployment, current, old, counts, input);
  }

  /** Old ReplicaSets scaled to zero beyond revisionHistoryLimit go, oldest first. */
  async #pruneHistory(
    cluster: string,
    deployment: KubeObject,
    old: KubeObject[],
    pods: KubeObject[],
  ): Promise<void> {
    const limit = Number(deployment.spec?.revisionHistoryLimit ?? 10);
    const idle = old.filter(
      (s) => replicasOf(s) === 0 && !pods.some((p) => controllerOf(p)?.uid === s.metadata.uid),
    );
    for (const set of idle.slice(0, Math.max(0, idle.length - limit)))
      await this.options.objects
        .delete(cluster, REPLICASETS, set.metadata.namespace ?? "", set.metadata.name ?? "")
        .catch(() => undefined);
  }

  async #writeDeploymentStatus(
    cluster: string,
    deployment: KubeObject,
    current: KubeObject,
    old: KubeObject[],
    counts: (set: KubeObject) => { pods: number; available: number },
    input: Parameters<typeof surgeAndUnavailable>[0],
  ): Promise<void> {
    const desired = input.desired;
    const mine = counts(current);
    const all = [current, ...old].map(counts);
    const replicas = all.reduce((n, c) => n + c.pods, 0);
    const available = all.reduce((n, c) => n + c.available, 0);
    const { unavailable } = surgeAndUnavailable(input);
    const complete = mine.pods === desired && replicas === desired && mine.available === desired;
    const now = kubeTime(this.options.clock.now());
    const previous =
      (deployment.status?.conditions as { type: string; status: string; reason: string }[]) ?? [];
    const condition = (type: string, status: string, reason: string, message: string) => {
      const before = previous.find((c) => c.type === type) as
        { status: string; reason: string; lastTransitionTime?: string } | undefined;
      return {
        type,
        status,
        lastUpdateTime:
          before?.reason === reason
            ? ((before as { lastUpdateTime?: string }).lastUpdateTime ?? now)
            : now,
        lastTransitionTime: before?.status === status ? (before.lastTransitionTime ?? now) : now,
        reason,
        message,
      };
    };
    const setName = current.metadata.name ?? "";
    const status = {
      observedGeneration: deployment.metadata.generation ?? 1,
      replicas,
      updatedReplicas: mine.pods,
      readyReplicas: available,
      availableReplicas: available,
      unavailableReplicas: Math.max(0, desired - available),
      conditions: [
        available >= desired - unavailable
          ? condition(
              "Available",
              "True",
              "MinimumReplicasAvailable",
              "Deployment has minimum availability.",
            )
          : condition(
              "Available",
              "False",
              "MinimumReplicasUnavailable",
              "Deployment does not have minimum availability.",
            ),
        complete
          ? condition(
              "Progressing",
              "True",
              "NewReplicaSetAvailable",
              `ReplicaSet "${setName}" has successfully progressed.`,
            )
          : condition(
              "Progressing",
              "True",
              "ReplicaSetUpdated",
              `ReplicaSet "${setName}" is progressing.`,
            ),
      ],
    };
    const revision = current.metadata.annotations?.[REVISION];
    await this.options.objects.update(
      cluster,
      DEPLOYMENTS,
      deployment.metadata.namespace ?? "",
      deployment.metadata.name ?? "",
      (d) => {
        // A spec changed since this pass read it is the next pass's to observe.
        if (d.metadata.generation !== deployment.metadata.generation) return d;
        d.status = status;
        if (revision !== undefined)
          d.metadata.annotations = { ...d.metadata.annotations, [REVISION]: revision };
        d.metadata.resourceVersion = undefined;
        return d;
      },
    );
  }

  async #syncReplicaSet(cluster: string, set: KubeObject, pods: KubeObject[]): Promise<void> {
    const mine = pods.filter((p) => controllerOf(p)?.uid === set.metadata.uid && live(p));
    const want = replicasOf(set);
    if (mine.length < want) {
      for (let i = 0; i < Math.min(want - mine.length, BURST); i++) {
        try {
          const pod = await this.options.createPod(cluster, this.#podFrom(set));
          mine.push(pod);
          await this.#event(
            cluster,
            set,
            "SuccessfulCreate",
            `Created pod: ${pod.metadata.name ?? ""}`,
          );
        } catch (error) {
          await this.#event(
            cluster,
            set,
            "FailedCreate",
            `Error creating: ${error instanceof Error ? error.message : String(error)}`,
            "Warning",
          );
          break;
        }
      }
    } else if (mine.length > want) {
      // Unready pods go first, then the newest: the ones with the least to lose.
      const order = [...mine].sort(
        (a, b) =>
          Number(isReady(a)) - Number(isReady(b)) ||
          (b.metadata.creationTimestamp ?? "").localeCompare(a.metadata.creationTimestamp ?? ""),
      );
      for (const pod of order.slice(0, mine.length - want)) {
        await this.options.deletePod(cluster, pod);
        mine.splice(mine.indexOf(pod), 1);
        await this.#event(
          cluster,
          set,
          "SuccessfulDelete",
          `Deleted pod: ${pod.metadata.name ?? ""}`,
        );
      }
    }
    const ready = mine.filter(isReady).length;
    await this.options.objects.update(
      cluster,
      REPLICASETS,
      set.metadata.namespace ?? "",
      set.metadata.name ?? "",
      (rs) => {
        rs.status = {
          replicas: mine.length,
          fullyLabeledReplicas: mine.length,
          readyReplicas: ready,
          availableReplicas: ready,
          observedGeneration: rs.metadata.generation ?? 1,
        };
        rs.metadata.resourceVersion = undefined;
        return rs;
      },
    );
  }

  #podFrom(set: KubeObject): KubeObject {
    const template = (set.spec?.template ?? {}) as KubeObject;
    const meta = template.metadata ?? {};
    const prefix = `${set.metadata.name ?? ""}-`;
    return {
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        name: `${prefix}${nameSuffix()}`,
        generateName: prefix,
        namespace: set.metadata.namespace,
        labels: { ...meta.labels },
        ...(meta.annotations === undefined ? {} : { annotations: { ...meta.annotations } }),
        ownerReferences: [ownerReference(set)],
      },
      spec: structuredClone(template.spec ?? {}),
    };
  }
}
