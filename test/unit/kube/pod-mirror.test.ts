/** The pod controller's mirror of a task into a pod: what changes, and when nothing does. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Task } from "@aws-sdk/client-ecs";
import type { KubeObject } from "../../../src/kube/objects.js";
import { mirrorTask, podStatusFromTask } from "../../../src/kube/pods/pod-status.js";

const pod = (): KubeObject => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name: "web", namespace: "default", resourceVersion: "7" },
  spec: { containers: [{ name: "main", image: "busybox" }], restartPolicy: "Always" },
  status: { phase: "Pending", qosClass: "BestEffort" },
});

const running: Task = {
  taskArn: "arn:aws:ecs:us-east-1:000000000000:task/demo/abc",
  lastStatus: "RUNNING",
  createdAt: new Date("2026-12-05T10:00:00Z"),
  startedAt: new Date("2026-12-05T10:00:01Z"),
  containers: [{ name: "main", lastStatus: "RUNNING", runtimeId: "r1" }],
  attachments: [{ details: [{ name: "privateIPv4Address", value: "100.64.0.5" }] }],
};
const view = { task: running, restartCount: 0, region: "us-east-1", now: "2026-12-05T10:00:02Z" };
const NODE = "fargate-ip-100-64-0-5.us-east-1.compute.internal";

describe("mirrorTask", () => {
  it("puts the task's status and node on a pod that has neither, leaving the input alone", () => {
    const before = pod();
    const status = podStatusFromTask(before, view);
    const next = mirrorTask(before, status, NODE);
    assert.ok(next !== undefined);
    assert.deepEqual(next.status, status);
    assert.equal(next.spec?.nodeName, NODE);
    assert.equal(next.metadata.resourceVersion, "7");
    assert.equal(before.spec?.nodeName, undefined);
    assert.deepEqual(before.status, { phase: "Pending", qosClass: "BestEffort" });
  });

  it("is undefined when the pod already shows that status and has its node", () => {
    const mirrored = mirrorTask(pod(), podStatusFromTask(pod(), view), NODE);
    assert.ok(mirrored !== undefined);
    // As stored and read back: the same JSON.
    const stored = JSON.parse(JSON.stringify(mirrored)) as KubeObject;
    assert.equal(mirrorTask(stored, podStatusFromTask(stored, view), NODE), undefined);
  });

  it("writes a changed status, and keeps the node the pod was given first", () => {
    const stored = mirrorTask(pod(), podStatusFromTask(pod(), view), NODE) as KubeObject;
    const stopped: Task = {
      ...running,
      lastStatus: "STOPPED",
      stoppedAt: new Date("2026-12-05T10:05:00Z"),
      containers: [{ name: "main", lastStatus: "STOPPED", exitCode: 0 }],
    };
    const status = podStatusFromTask(stored, { ...view, task: stopped });
    const next = mirrorTask(stored, status, "fargate-ip-100-64-0-9.us-east-1.compute.internal");
    assert.ok(next !== undefined);
    assert.equal(next.spec?.nodeName, NODE);
    assert.notDeepEqual(next.status, stored.status);
    assert.deepEqual(next.status, status);
  });

  it("sets the node alone when the status is already there (an address known later)", () => {
    const status = podStatusFromTask(pod(), view);
    const withStatus = { ...pod(), status };
    const next = mirrorTask(withStatus, status, NODE);
    assert.equal(next?.spec?.nodeName, NODE);
    assert.equal(mirrorTask(withStatus, status, undefined), undefined);
  });
});
