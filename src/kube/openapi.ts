/**
 * A minimal OpenAPI v3: for every served kind, and for the well-known kinds Berth does not
 * serve, a PATCH operation tagged with its group/version/kind and the `fieldValidation` query
 * parameter. That is what kubectl reads to leave validation to the server (so `apply` of an
 * unserved kind reaches the REST mapping and fails `no matches for kind`, as on Kubernetes);
 * there are no schemas.
 */
import { createHash } from "node:crypto";
import { RESOURCES } from "./resources.js";

/** Kinds clusters usually serve that Berth does not: named so kubectl fails them by mapping. */
const WELL_KNOWN: { group: string; version: string; kind: string; resource: string }[] = [
  { group: "", version: "v1", kind: "Service", resource: "services" },
  { group: "", version: "v1", kind: "ConfigMap", resource: "configmaps" },
  { group: "", version: "v1", kind: "Secret", resource: "secrets" },
  { group: "", version: "v1", kind: "ServiceAccount", resource: "serviceaccounts" },
  { group: "", version: "v1", kind: "PersistentVolumeClaim", resource: "persistentvolumeclaims" },
  { group: "apps", version: "v1", kind: "DaemonSet", resource: "daemonsets" },
  { group: "apps", version: "v1", kind: "StatefulSet", resource: "statefulsets" },
  { group: "batch", version: "v1", kind: "Job", resource: "jobs" },
  { group: "batch", version: "v1", kind: "CronJob", resource: "cronjobs" },
  { group: "networking.k8s.io", version: "v1", kind: "Ingress", resource: "ingresses" },
];

function groupVersionPath(group: string, version: string): string {
  return group === "" ? `api/${version}` : `apis/${group}/${version}`;
}

function documents(): Map<string, Record<string, unknown>> {
  const kinds = [
    ...RESOURCES.map((r) => ({
      group: r.group,
      version: r.version,
      kind: r.kind,
      resource: r.resource,
      namespaced: r.namespaced,
    })),
    ...WELL_KNOWN.map((k) => ({ ...k, namespaced: true })),
  ];
  const docs = new Map<string, { paths: Record<string, unknown>; [key: string]: unknown }>();
  for (const k of kinds) {
    const gv = groupVersionPath(k.group, k.version);
    const doc = docs.get(gv) ?? {
      openapi: "3.0.0",
      info: { title: "Kubernetes", version: "v1.32.0" },
      paths: {},
      components: { schemas: {} },
    };
    const path = `/${gv}/${k.namespaced ? "namespaces/{namespace}/" : ""}${k.resource}/{name}`;
    doc.paths[path] = {
      patch: {
        operationId: `patch${k.kind}`,
        "x-kubernetes-action": "patch",
        "x-kubernetes-group-version-kind": { group: k.group, version: k.version, kind: k.kind },
        parameters: [
          { name: "dryRun", in: "query", schema: { type: "string", uniqueItems: true } },
          { name: "fieldManager", in: "query", schema: { type: "string", uniqueItems: true } },
          { name: "fieldValidation", in: "query", schema: { type: "string", uniqueItems: true } },
          { name: "force", in: "query", schema: { type: "boolean", uniqueItems: true } },
        ],
        responses: { "200": { description: "OK" } },
      },
    };
    docs.set(gv, doc);
  }
  return docs;
}

const DOCS = documents();
const HASHES = new Map(
  [...DOCS].map(([gv, doc]) => [
    gv,
    createHash("sha512").update(JSON.stringify(doc)).digest("hex").slice(0, 128).toUpperCase(),
  ]),
);

/** `/openapi/v3` (the index) or `/openapi/v3/<group-version path>`; undefined when unknown. */
export function openApiV3(path: string, prefix: string): Record<string, unknown> | undefined {
  if (path === "/openapi/v3" || path === "/openapi/v3/") {
    return {
      paths: Object.fromEntries(
        [...DOCS.keys()].map((gv) => [
          gv,
          { serverRelativeURL: `${prefix}/openapi/v3/${gv}?hash=${HASHES.get(gv) ?? ""}` },
        ]),
      ),
    };
  }
  const gv = path.slice("/openapi/v3/".length);
  return DOCS.get(gv);
}
