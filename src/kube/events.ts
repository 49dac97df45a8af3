/** Kubernetes Events about an object (`kubectl describe` and `get events` show them). */
import { randomBytes } from "node:crypto";
import { kubeTime, type KubeObject, type KubeObjects } from "./objects.js";
import { RESOURCES, type ResourceType } from "./resources.js";

const EVENTS = RESOURCES.find((r) => r.resource === "events") as ResourceType;

export async function recordEvent(
  objects: KubeObjects,
  cluster: string,
  involved: KubeObject,
  event: { type: "Normal" | "Warning"; reason: string; message: string; component: string },
  now: Date,
): Promise<void> {
  const at = kubeTime(now);
  const namespace = involved.metadata.namespace ?? "default";
  await objects.create(cluster, EVENTS, {
    metadata: {
      name: `${involved.metadata.name ?? ""}.${randomBytes(8).toString("hex")}`,
      namespace,
    },
    involvedObject: {
      kind: involved.kind,
      namespace,
      name: involved.metadata.name,
      uid: involved.metadata.uid,
      apiVersion: involved.apiVersion,
      resourceVersion: involved.metadata.resourceVersion,
    },
    reason: event.reason,
    message: event.message,
    source: { component: event.component },
    firstTimestamp: at,
    lastTimestamp: at,
    count: 1,
    type: event.type,
    eventTime: null,
    reportingComponent: event.component,
    reportingInstance: "",
  });
}
