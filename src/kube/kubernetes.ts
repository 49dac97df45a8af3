/**
 * One Kubernetes control plane for all of Berth's EKS clusters: the API server, the object
 * store, the REST routes with each kind's hooks, and what a new or deleted cluster needs.
 */
import type { CredentialLookup } from "../aws/index.js";
import type { Clock, Logger } from "../core/index.js";
import type { Store } from "../store/index.js";
import { KubeApiServer } from "./api-server.js";
import { discoveryRoute } from "./discovery-route.js";
import { KubeObjects } from "./objects.js";
import { RESOURCES, type ResourceType } from "./resources.js";
import { ResourceRoutes, type KindHooks } from "./rest.js";

export interface KubernetesOptions {
  store: Store;
  credentials: CredentialLookup;
  clock: Clock;
  log: Logger;
  dataDir: string;
  host: string;
  port: number;
}

/** The namespaces every cluster starts with. */
const INITIAL_NAMESPACES = ["default", "kube-system", "kube-public", "kube-node-lease"];

export class Kubernetes {
  readonly server: KubeApiServer;
  readonly objects: KubeObjects;
  readonly #hooks: Record<string, KindHooks> = {};

  constructor(private readonly options: KubernetesOptions) {
    this.server = new KubeApiServer(options);
    this.objects = new KubeObjects(options.store, options.clock);
    this.server.use(discoveryRoute);
    this.server.use(new ResourceRoutes(this.objects, options.clock, this.#hooks).route);
  }

  /** Adds a kind's own behaviour (pods, Deployments) to the generic verbs. */
  setHooks(resource: string, hooks: KindHooks): void {
    this.#hooks[resource] = hooks;
  }

  start(): Promise<void> {
    return this.server.start();
  }

  close(): Promise<void> {
    return this.server.close();
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
