/**
 * A task's change kicks the pod controller only while an EKS cluster exists: with none there is
 * no pod to mirror it, and every task report of a busy fleet ran a pass (a statement) for
 * nothing. The timed pass finds a new cluster, and task changes kick passes again from then.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { silentLogger, systemClock } from "../../../src/core/index.js";
import { KubeObjects } from "../../../src/kube/objects.js";
import { PodController } from "../../../src/kube/pods/controller.js";
import type { PodTaskPort } from "../../../src/kube/pods/port.js";
import { openSqliteStore } from "../../../src/store/open.js";
import { until } from "../../../src/testing/index.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

class CountingPodController extends PodController {
  passes = 0;
  protected override async pass(): Promise<void> {
    await super.pass();
    this.passes++;
  }
}

test("task changes kick pod passes only while an EKS cluster exists", async () => {
  const store = await openSqliteStore(":memory:");
  const controller = new CountingPodController({
    store,
    objects: new KubeObjects(store, systemClock),
    port: {} as PodTaskPort,
    clock: systemClock,
    log: silentLogger,
    region: "us-east-1",
    intervalMs: 60_000,
  });
  const passes = (n: number) =>
    until(
      `${n} passes`,
      () => Promise.resolve(controller.passes),
      (p) => p === n,
      {
        timeoutMs: 5_000,
        everyMs: 10,
      },
    );
  controller.start();
  try {
    await passes(1);
    for (let i = 0; i < 3; i++) controller.taskChanged();
    await sleep(100);
    assert.equal(controller.passes, 1, "no cluster: task changes run no pass");

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
    // The timed pass finds the cluster.
    controller.kick();
    await passes(2);
    controller.taskChanged();
    await passes(3);
  } finally {
    await controller.stop();
    await store.destroy();
  }
});
