/**
 * Pods' part of the REST verbs: `log` (logs.ts), defaults at create (EKS's Fargate scheduler, restart policy,
 * grace period; status Pending), and graceful deletion — the pod gets its deletionTimestamp
 * (kubectl shows Terminating) and goes once its task is STOPPED; a pod with no task, or a
 * grace period of 0, goes at once.
 */
import type { Clock } from "../../core/index.js";
import { kubeTime, type KubeObject, type KubeObjects } from "../objects.js";
import type { KindHooks } from "../rest.js";
import { KubeError } from "../status.js";
import { PODS, TASK_ANNOTATION } from "./controller.js";
import { servePodLog } from "./logs.js";
import type { PodTaskPort } from "./port.js";

export function podHooks(
  objects: KubeObjects,
  clock: Clock,
  kick: () => void,
  port: PodTaskPort,
): KindHooks {
  return {
    async subresource(request, target) {
      if (target.subresource !== "log") return false;
      await servePodLog(request, target, objects, port);
      return true;
    },

    beforeCreate(_cluster, pod) {
      const spec = (pod.spec ??= {});
      const containers = spec.containers;
      if (!Array.isArray(containers) || containers.length === 0)
        throw new KubeError(
          "Invalid",
          `Pod "${pod.metadata.name ?? ""}" is invalid: spec.containers: Required value`,
          422,
          {
            name: pod.metadata.name,
            kind: "Pod",
            causes: [
              { reason: "FieldValueRequired", message: "Required value", field: "spec.containers" },
            ],
          },
        );
      for (const c of containers as { name?: string; image?: string }[])
        if (typeof c.image !== "string" || c.image === "")
          throw new KubeError(
            "Invalid",
            `Pod "${pod.metadata.name ?? ""}" is invalid: spec.containers[0].image: Required value`,
            422,
          );
      spec.restartPolicy ??= "Always";
      spec.terminationGracePeriodSeconds ??= 30;
      spec.dnsPolicy ??= "ClusterFirst";
      // EKS's admission webhook hands pods its profiles select to the Fargate scheduler.
      spec.schedulerName ??= "fargate-scheduler";
      pod.status = { phase: "Pending", qosClass: "BestEffort" };
      if (pod.metadata.annotations !== undefined) {
        delete pod.metadata.annotations[TASK_ANNOTATION];
        delete pod.metadata.annotations["berth.dev/restart-count"];
      }
    },

    async delete(cluster, pod, gracePeriodSeconds): Promise<KubeObject> {
      const namespace = pod.metadata.namespace ?? "default";
      const name = pod.metadata.name ?? "";
      const hasTask = pod.metadata.annotations?.[TASK_ANNOTATION] !== undefined;
      const grace =
        gracePeriodSeconds ?? (pod.spec?.terminationGracePeriodSeconds as number | undefined) ?? 30;
      if (!hasTask) return objects.delete(cluster, PODS, namespace, name);
      const updated = await objects.update(cluster, PODS, namespace, name, (current) => {
        current.metadata.deletionTimestamp ??= kubeTime(clock.now());
        current.metadata.deletionGracePeriodSeconds = grace;
        current.metadata.resourceVersion = undefined;
        return current;
      });
      kick();
      return updated;
    },
  };
}
