/**
 * The Kubernetes resources Berth serves, in one table: discovery, OpenAPI, routing, Tables and
 * kubectl's short names all read it. Kinds not listed here are not served; the well-known ones
 * are still named in OpenAPI so kubectl says `no matches for kind` as Kubernetes does.
 */
export interface Subresource {
  name: string;
  kind: string;
  group?: string;
  version?: string;
  verbs: string[];
}

export interface ResourceType {
  group: string;
  version: string;
  /** The plural, as in URLs. */
  resource: string;
  singular: string;
  kind: string;
  listKind: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  verbs: string[];
  subresources: Subresource[];
}

const ALL_VERBS = [
  "create",
  "delete",
  "deletecollection",
  "get",
  "list",
  "patch",
  "update",
  "watch",
];

/** The scale subresource of Deployments and ReplicaSets: autoscaling/v1's Scale. */
const SCALE: Subresource = {
  name: "scale",
  kind: "Scale",
  group: "autoscaling",
  version: "v1",
  verbs: ["get", "patch", "update"],
};

export const RESOURCES: ResourceType[] = [
  {
    group: "",
    version: "v1",
    resource: "namespaces",
    singular: "namespace",
    kind: "Namespace",
    listKind: "NamespaceList",
    namespaced: false,
    shortNames: ["ns"],
    categories: [],
    verbs: ["create", "delete", "get", "list", "patch", "update", "watch"],
    subresources: [{ name: "status", kind: "Namespace", verbs: ["get", "patch", "update"] }],
  },
  {
    group: "",
    version: "v1",
    resource: "pods",
    singular: "pod",
    kind: "Pod",
    listKind: "PodList",
    namespaced: true,
    shortNames: ["po"],
    categories: ["all"],
    verbs: ALL_VERBS,
    subresources: [
      { name: "status", kind: "Pod", verbs: ["get", "patch", "update"] },
      { name: "log", kind: "Pod", verbs: ["get"] },
      { name: "exec", kind: "PodExecOptions", verbs: ["create", "get"] },
    ],
  },
  {
    group: "",
    version: "v1",
    resource: "events",
    singular: "event",
    kind: "Event",
    listKind: "EventList",
    namespaced: true,
    shortNames: ["ev"],
    categories: [],
    verbs: ALL_VERBS,
    subresources: [],
  },
  {
    group: "apps",
    version: "v1",
    resource: "deployments",
    singular: "deployment",
    kind: "Deployment",
    listKind: "DeploymentList",
    namespaced: true,
    shortNames: ["deploy"],
    categories: ["all"],
    verbs: ALL_VERBS,
    subresources: [
      { name: "status", kind: "Deployment", verbs: ["get", "patch", "update"] },
      SCALE,
    ],
  },
  {
    group: "apps",
    version: "v1",
    resource: "replicasets",
    singular: "replicaset",
    kind: "ReplicaSet",
    listKind: "ReplicaSetList",
    namespaced: true,
    shortNames: ["rs"],
    categories: ["all"],
    verbs: ALL_VERBS,
    subresources: [
      { name: "status", kind: "ReplicaSet", verbs: ["get", "patch", "update"] },
      SCALE,
    ],
  },
];

/** The key objects are stored under: `pods`, `deployments.apps`. */
export function storageKey(type: ResourceType): string {
  return type.group === "" ? type.resource : `${type.resource}.${type.group}`;
}

export function apiVersionOf(type: ResourceType): string {
  return type.group === "" ? type.version : `${type.group}/${type.version}`;
}

export function findResource(
  group: string,
  version: string,
  resource: string,
): ResourceType | undefined {
  return RESOURCES.find(
    (r) => r.group === group && r.version === version && r.resource === resource,
  );
}

/** The groups served, each with its one version. */
export function servedGroups(): { group: string; version: string }[] {
  const seen = new Map<string, string>();
  for (const r of RESOURCES) seen.set(r.group, r.version);
  return [...seen].map(([group, version]) => ({ group, version }));
}
