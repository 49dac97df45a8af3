/**
 * One Kubernetes control plane for all of Berth's EKS clusters: the API server, the object
 * store, the REST routes with each kind's hooks, and what a new or deleted cluster needs.
 */
import { KubeApiServer, type KubeApiServerOptions } from "./api-server.js";
import { discoveryRoute } from "./discovery-route.js";
import { KubeObjects } from "./objects.js";
import { RESOURCES, type ResourceType } from "./resources.js";
import { ResourceRoutes, type KindHooks } from "./rest.js";
import { PodController } from "./pods/controller.js";
import { podExecRoute } from "./pods/exec.js";
import { podHooks } from "./pods/hooks.js";
import type { PodTaskPort } from "./pods/port.js";
import { DEPLOYMENTS, REPLICASETS, WorkloadController } from "./workloads/controller.js";
import { workloadHooks } from "./workloads/hooks.js";

export interface KubernetesOptions extends KubeApiServerOptions {
  region: string;
  /** How pods become tasks (the ECS task path). */
  pods: PodTaskPort;
}

/** The namespaces every cluster starts with. */
const INITIAL_NAMESPACES = ["default", "kube-system", "kube-public", "kube-node-lease"];

export class Kubernetes {
  readonly server: KubeApiServer;
  readonly objects: KubeObjects;
  readonly podController: PodController;
  readonly workloadController: WorkloadController;
  readonly #hooks: Record<string, KindHooks> = {};
  readonly #exec: ReturnType<typeof podExecRoute>;

  constructor(options: KubernetesOptions) {
    this.server = new KubeApiServer(options);
    this.objects = new KubeObjects(options.store, options.clock);
    this.podController = new PodController({
      store: options.store,
      objects: this.objects,
      port: options.pods,
      clock: options.clock,
      log: options.log,
      region: options.region,
    });
    const pods = podHooks(
      this.objects,
      options.clock,
      () => this.podController.kick(),
      options.pods,
    );
    this.#hooks.pods = pods;
    const podType = RESOURCES.find((r) => r.resource === "pods") as ResourceType;
    this.workloadController = new WorkloadController({
      store: options.store,
      objects: this.objects,
      clock: options.clock,
      log: options.log,
      createPod: async (cluster, pod) => {
        await pods.beforeCreate?.(cluster, pod);
        return this.objects.create(cluster, podType, pod);
      },
      deletePod: (cluster, pod) =>
        pods.delete?.(cluster, pod) ??
        this.objects.delete(
          cluster,
          podType,
          pod.metadata.namespace ?? "",
          pod.metadata.name ?? "",
        ),
    });
    const kick = () => this.workloadController.kick();
    this.#hooks["deployments.apps"] = workloadHooks(this.objects, DEPLOYMENTS, kick);
    this.#hooks["replicasets.apps"] = workloadHooks(this.objects, REPLICASETS, kick);
    this.#exec = podExecRoute(this.objects, options.pods);
    this.server.useUpgrade(this.#exec.route);
    this.server.use(discoveryRoute);
    this.server.use(new ResourceRoutes(this.objects, options.clock, this.#hooks).route);
  }

  /** A task changed: pods mirror it at once. */
  taskChanged(): void {
    this.podController.taskChanged();
  }

  async start(): Promise<void> {
    await this.server.start();
    this.podController.start();
    this.workloadController.start();
  }

  async close(): Promise<void> {
    await this.workloadController.stop();
    await this.podController.stop();
    this.#exec.close();
    await this.server.close();
  }

  /** A new cluster's initial objects. */
  async initCluster(cluster: string): Promise<void> {
    const namespaces = RESOURCES.find((r) => r.resource === "namespaces") as ResourceType;
    for (const name of INITIAL_NAMESPACES)
      if ((await this.objects.find(cluster, namespaces, "", name)) === undefined)
        await this.objects.create(cluster, namespaces, {
          metadata: { name, labels: { "kubernetes.io/metadata.name": name } },
          spec: { finalizers: ["kubernetes"] },
          status: { phase: "Active" },
        });
  }

  async dropCluster(cluster: string): Promise<void> {
    await this.objects.dropCluster(cluster);
  }
}
