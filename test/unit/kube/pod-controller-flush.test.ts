/**
 * The pod controller lets the event loop run between a pod's write and the next write: a watch
 * flushes its response on the next tick, which a chain of (synchronous SQLite) store calls holds
 * back to its end, so without the yields kubectl saw a pod Ready only after its Started event
 * was written, and a new pod's ADDED only after the pass that launched it.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Task } from "@aws-sdk/client-ecs";
import { silentLogger, systemClock } from "../../../src/core/index.js";
import { KubeObjects, type KubeObject } from "../../../src/kube/objects.js";
import { PODS, PodController, TASK_ANNOTATION } from "../../../src/kube/pods/controller.js";
import type { PodTaskPort } from "../../../src/kube/pods/port.js";
import { openSqliteStore } from "../../../src/store/open.js";
import type { Store } from "../../../src/store/index.js";
import { until } from "../../../src/testing/index.js";

const TASK = "arn:aws:ecs:us-east-1:000000000000:task/demo/abc";

/** What one turn of the event loop published: each turn's changes, as "resource TYPE label". */
function turnsOf(objects: KubeObjects): string[][] {
  const turns: string[][] = [];
  let current: string[] | undefined;
  objects.subscribe((change) => {
    if (current === undefined) {
      const turn: string[] = [];
      current = turn;
      turns.push(turn);
      // A watch's write is flushed no earlier than this: what is in one turn goes out together.
      setImmediate(() => (current = undefined));
    }
    const pod = change.object;
    const ready = (pod.status?.conditions as { type: string; status: string }[] | undefined)?.some(
      (c) => c.type === "Ready" && c.status === "True",
    );
    const label =
      change.resource === "events"
        ? String(pod.reason)
        : pod.metadata.annotations?.[TASK_ANNOTATION] === undefined
          ? "new"
          : ready === true
            ? "ready"
            : "launched";
    current?.push(`${change.resource} ${change.type} ${label}`);
  });
  return turns;
}

describe("pod controller: watchers see each pod write before the next write", () => {
  let store: Store;
  let objects: KubeObjects;
  let controller: PodController;
  let task: Task | undefined;

  before(async () => {
    store = await openSqliteStore(":memory:");
    await store
      .insertInto("eks_clusters")
      .values({
        name: "demo",
        arn: "arn:aws:eks:us-east-1:000000000000:cluster/demo",
        status: "ACTIVE",
        document: "{}",
        resource_version: 0,
        created_at: Date.now(),
      })
      .execute();
    await store
      .insertInto("eks_fargate_profiles")
      .values({
        cluster_name: "demo",
        name: "default",
        arn: "arn:aws:eks:us-east-1:000000000000:fargateprofile/demo/default/x",
        document: JSON.stringify({ selectors: [{ namespace: "default" }], subnets: ["subnet-a"] }),
        created_at: Date.now(),
      })
      .execute();
    objects = new KubeObjects(store, systemClock);
    const port: PodTaskPort = {
      sizes: new Map([[256, [512, 1024, 2048]]]),
      run: () => {
        task = {
          taskArn: TASK,
          lastStatus: "PROVISIONING",
          containers: [{ name: "main", lastStatus: "PENDING" }],
        };
        return Promise.resolve({ taskArn: TASK });
      },
      stop: () => Promise.resolve(),
      logs: () => Promise.resolve(undefined),
      exec: () => Promise.resolve(undefined),
      read: (arns) =>
        Promise.resolve(
          new Map(task === undefined ? [] : arns.filter((a) => a === TASK).map((a) => [a, task!])),
        ),
    };
    controller = new PodController({
      store,
      objects,
      port,
      clock: systemClock,
      log: silentLogger,
      region: "us-east-1",
      // Only kicks move it in this test.
      intervalMs: 3_600_000,
    });
  });

  after(async () => {
    await controller.stop();
    await store.destroy();
  });

  it("a new pod, its launch, its Scheduled event, its Ready and its Started event: one turn each", async () => {
    const turns = turnsOf(objects);
    const pod: KubeObject = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "web", namespace: "default" },
      spec: {
        containers: [{ name: "main", image: "busybox" }],
        restartPolicy: "Always",
        terminationGracePeriodSeconds: 0,
      },
      status: { phase: "Pending" },
    };
    await objects.create("demo", PODS, pod);
    // Started here, not before: a pass already waiting when the pod came would take it in the
    // pod's own turn. A create's kick finds the controller idle like this, and so does start().
    controller.start();
    await until(
      "the Scheduled event",
      () => Promise.resolve(turns.flat()),
      (seen) => seen.includes("events ADDED Scheduled"),
      { timeoutMs: 10_000 },
    );

    task = {
      taskArn: TASK,
      lastStatus: "RUNNING",
      createdAt: new Date(),
      startedAt: new Date(),
      containers: [{ name: "main", lastStatus: "RUNNING", runtimeId: "r1" }],
      attachments: [{ details: [{ name: "privateIPv4Address", value: "100.64.0.5" }] }],
    };
    controller.kick();
    await until(
      "the Started event",
      () => Promise.resolve(turns.flat()),
      (seen) => seen.includes("events ADDED Started"),
      { timeoutMs: 10_000 },
    );

    const turnOf = (label: string) => turns.findIndex((t) => t.includes(label));
    const order = [
      "pods ADDED new",
      "pods MODIFIED launched",
      "events ADDED Scheduled",
      "pods MODIFIED ready",
      "events ADDED Started",
    ].map(turnOf);
    assert.equal(order.length, 5);
    // Each seen, in a later turn than the one before it (not merely later in the same turn).
    for (let i = 0; i < order.length; i++)
      assert.ok((order[i] ?? -1) > (i === 0 ? -1 : (order[i - 1] ?? -1)), JSON.stringify(turns));
  });
});
