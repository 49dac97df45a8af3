/**
 * API discovery, negotiated by Accept exactly as the API server does: aggregated discovery
 * (`apidiscovery.k8s.io` v2, then v2beta1) when the client asks for it, else the legacy
 * documents (`APIVersions`, `APIGroupList`, `APIResourceList`). Built from the resource table.
 */
import { apiVersionOf, RESOURCES, servedGroups, type ResourceType } from "./resources.js";

export interface MediaRange {
  type: string;
  params: Record<string, string>;
}

/** `application/json;g=x;v=y;as=Z, application/json;q=0.9` -> ranges in the client's order. */
export function parseAccept(accept: string | undefined): MediaRange[] {
  return (accept ?? "")
    .split(",")
    .map((part) => part.trim())
    .filter((part) => part !== "")
    .map((part) => {
      const [type = "", ...rest] = part.split(";").map((p) => p.trim());
      const params: Record<string, string> = {};
      for (const p of rest) {
        const eq = p.indexOf("=");
        if (eq > 0) params[p.slice(0, eq).toLowerCase()] = p.slice(eq + 1);
      }
      return { type: type.toLowerCase(), params };
    });
}

type DiscoveryFormat = "v2" | "v2beta1" | "legacy";

export function discoveryFormat(accept: string | undefined): DiscoveryFormat {
  for (const range of parseAccept(accept)) {
    const { g, v, as } = range.params;
    if (g === undefined) {
      if (
        range.type === "application/json" ||
        range.type === "*/*" ||
        range.type === "application/*"
      )
        return "legacy";
      continue;
    }
    if (
      g === "apidiscovery.k8s.io" &&
      as === "APIGroupDiscoveryList" &&
      range.type === "application/json"
    ) {
      if (v === "v2") return "v2";
      if (v === "v2beta1") return "v2beta1";
    }
  }
  return "legacy";
}

function discoveredResource(r: ResourceType) {
  return {
    resource: r.resource,
    responseKind: { group: r.group, version: r.version, kind: r.kind },
    scope: r.namespaced ? "Namespaced" : "Cluster",
    singularResource: r.singular,
    verbs: r.verbs,
    ...(r.shortNames.length > 0 ? { shortNames: r.shortNames } : {}),
    ...(r.categories.length > 0 ? { categories: r.categories } : {}),
    ...(r.subresources.length > 0
      ? {
          subresources: r.subresources.map((s) => ({
            subresource: s.name,
            responseKind: {
              group: s.group ?? r.group,
              version: s.version ?? r.version,
              kind: s.kind,
            },
            verbs: s.verbs,
          })),
        }
      : {}),
  };
}

/** `/api` (legacy: true) or `/apis` as an APIGroupDiscoveryList. */
export function aggregatedDiscovery(legacy: boolean, version: "v2" | "v2beta1") {
  const groups = servedGroups().filter(({ group }) => (group === "") === legacy);
  return {
    kind: "APIGroupDiscoveryList",
    apiVersion: `apidiscovery.k8s.io/${version}`,
    metadata: {},
    items: groups.map(({ group, version: groupVersion }) => ({
      metadata:
        group === "" ? { creationTimestamp: null } : { name: group, creationTimestamp: null },
      versions: [
        {
          version: groupVersion,
          resources: RESOURCES.filter((r) => r.group === group).map(discoveredResource),
          freshness: "Current",
        },
      ],
    })),
  };
}

export function discoveryContentType(version: "v2" | "v2beta1"): string {
  return `application/json;g=apidiscovery.k8s.io;v=${version};as=APIGroupDiscoveryList`;
}

export function legacyApiVersions() {
  return {
    kind: "APIVersions",
    versions: ["v1"],
    serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress: "" }],
  };
}

export function legacyGroupList() {
  return {
    kind: "APIGroupList",
    apiVersion: "v1",
    groups: servedGroups()
      .filter(({ group }) => group !== "")
      .map(({ group, version }) => ({
        name: group,
        versions: [{ groupVersion: `${group}/${version}`, version }],
        preferredVersion: { groupVersion: `${group}/${version}`, version },
      })),
  };
}

export function legacyGroup(group: string) {
  const found = servedGroups().find((g) => g.group === group && group !== "");
  if (found === undefined) return undefined;
  return {
    kind: "APIGroup",
    apiVersion: "v1",
    name: group,
    versions: [{ groupVersion: `${group}/${found.version}`, version: found.version }],
    preferredVersion: { groupVersion: `${group}/${found.version}`, version: found.version },
  };
}

/** `/api/v1` or `/apis/GROUP/VERSION`. */
export function resourceList(group: string, version: string) {
  const served = RESOURCES.filter((r) => r.group === group && r.version === version);
  if (served.length === 0) return undefined;
  const resources = served.flatMap((r) => [
    {
      name: r.resource,
      singularName: r.singular,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: r.verbs,
      ...(r.shortNames.length > 0 ? { shortNames: r.shortNames } : {}),
      ...(r.categories.length > 0 ? { categories: r.categories } : {}),
    },
    ...r.subresources.map((s) => ({
      name: `${r.resource}/${s.name}`,
      singularName: "",
      namespaced: r.namespaced,
      ...(s.group === undefined ? {} : { group: s.group, version: s.version }),
      kind: s.kind,
      verbs: s.verbs,
    })),
  ]);
  return {
    kind: "APIResourceList",
    apiVersion: "v1",
    groupVersion: apiVersionOf(served[0] as ResourceType),
    resources,
  };
}
