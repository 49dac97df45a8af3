/**
 * Deployments' and ReplicaSets' part of the REST verbs: the API server's defaults and checks at
 * create (a selector that selects the template's labels), and the `scale` subresource
 * (autoscaling/v1 Scale: get, update, patch), which `kubectl scale` uses.
 */
import type { KubeRequest } from "../api-server.js";
import { parseObject, readBody, sendJson } from "../http.js";
import type { KubeObject, KubeObjects } from "../objects.js";
import { jsonMergePatch, jsonPatch, strategicMerge } from "../patch.js";
import type { ResourceType } from "../resources.js";
import type { KindHooks, Target } from "../rest.js";
import { badRequest, invalid, methodNotAllowed } from "../status.js";

export function workloadHooks(
  objects: KubeObjects,
  type: ResourceType,
  kick: () => void,
): KindHooks {
  return {
    beforeCreate(_cluster, object) {
      const spec = (object.spec ??= {});
      const name = object.metadata.name ?? "";
      const selector = spec.selector as { matchLabels?: Record<string, string> } | undefined;
      const template = (spec.template ?? {}) as { metadata?: { labels?: Record<string, string> } };
      const labels = template.metadata?.labels ?? {};
      if (selector === undefined || Object.keys(selector.matchLabels ?? {}).length === 0)
        throw invalid(type.kind, name, [{ field: "spec.selector", message: "Required value" }]);
      for (const [key, value] of Object.entries(selector.matchLabels ?? {}))
        if (labels[key] !== value)
          throw invalid(type.kind, name, [
            {
              field: "spec.template.metadata.labels",
              message: `Invalid value: ${JSON.stringify(labels)}: \`selector\` does not match template \`labels\``,
            },
          ]);
      const replicas = spec.replicas ?? 1;
      if (typeof replicas !== "number" || !Number.isInteger(replicas) || replicas < 0)
        throw invalid(type.kind, name, [
          {
            field: "spec.replicas",
            message: `Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0`,
          },
        ]);
      spec.replicas = replicas;
      if (type.kind === "Deployment") {
        spec.strategy ??= {
          type: "RollingUpdate",
          rollingUpdate: { maxSurge: "25%", maxUnavailable: "25%" },
        };
        spec.revisionHistoryLimit ??= 10;
        spec.progressDeadlineSeconds ??= 600;
      }
      object.status = {};
      kick();
    },

    async subresource(request: KubeRequest, target: Target): Promise<boolean> {
      if (target.subresource !== "scale" || target.name === undefined) return false;
      const { req, res, cluster } = request;
      const namespace = target.namespace ?? "default";
      const name = target.name;
      if (req.method === "GET") {
        sendJson(res, 200, toScale(await objects.get(cluster, type, namespace, name)));
        return true;
      }
      if (req.method !== "PUT" && req.method !== "PATCH") throw methodNotAllowed();
      const body = await readBody(req);
      const contentType = (req.headers["content-type"] ?? "").split(";")[0]?.trim() ?? "";
      const updated = await objects.update(cluster, type, namespace, name, (current) => {
        const scale = toScale(current);
        let next: { spec?: { replicas?: unknown }; metadata?: { resourceVersion?: string } };
        if (req.method === "PUT") next = parseObject(body, req.headers["content-type"]);
        else {
          let patch: unknown;
          try {
            patch = JSON.parse(body.toString("utf8"));
          } catch {
            throw badRequest("the body of the request was in an unknown format");
          }
          const merge =
            contentType === "application/json-patch+json"
              ? jsonPatch
              : contentType === "application/strategic-merge-patch+json"
                ? strategicMerge
                : jsonMergePatch;
          next = merge(scale, patch) as typeof next;
          // A patch takes part in optimistic concurrency only when it names a version.
          if (
            (patch as { metadata?: { resourceVersion?: string } } | null)?.metadata
              ?.resourceVersion === undefined
          )
            next.metadata = { ...next.metadata, resourceVersion: undefined };
        }
        const replicas = next.spec?.replicas;
        if (typeof replicas !== "number" || !Number.isInteger(replicas) || replicas < 0)
          throw invalid("Scale", name, [
            {
              field: "spec.replicas",
              message: `Invalid value: ${JSON.stringify(replicas ?? null)}: must be greater than or equal to 0`,
            },
          ]);
        current.spec = { ...current.spec, replicas };
        const asked = next.metadata?.resourceVersion;
        current.metadata.resourceVersion = asked === "" ? undefined : asked;
        return current;
      });
      kick();
      sendJson(res, 200, toScale(updated));
      return true;
    },
  };
}

/** The autoscaling/v1 Scale of a Deployment or ReplicaSet. */
export function toScale(object: KubeObject): Record<string, unknown> {
  const selector = (object.spec?.selector ?? {}) as { matchLabels?: Record<string, string> };
  return {
    kind: "Scale",
    apiVersion: "autoscaling/v1",
    metadata: {
      name: object.metadata.name,
      namespace: object.metadata.namespace,
      uid: object.metadata.uid,
      resourceVersion: object.metadata.resourceVersion,
      creationTimestamp: object.metadata.creationTimestamp,
    },
    spec: { replicas: Number(object.spec?.replicas ?? 1) },
    status: {
      replicas: Number(object.status?.replicas ?? 0),
      selector: Object.entries(selector.matchLabels ?? {})
        .map(([k, v]) => `${k}=${v}`)
        .join(","),
    },
  };
}
