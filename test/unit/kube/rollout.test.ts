/** The Deployment controller's arithmetic: template hashes, surge and unavailability, rollout steps. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  planRollout,
  resolveIntOrPercent,
  surgeAndUnavailable,
  templateHash,
  type RolloutInput,
} from "../../../src/kube/workloads/rollout.js";

const rolling = (over: Partial<RolloutInput>): RolloutInput => ({
  desired: 4,
  strategy: "RollingUpdate",
  current: { replicas: 0, available: 0 },
  old: [{ name: "v1", replicas: 4, available: 4 }],
  ...over,
});

describe("rollout arithmetic", () => {
  it("hashes a template the same whatever its key order, and differently when it changes", () => {
    const a = templateHash({
      metadata: { labels: { app: "w" } },
      spec: { containers: [{ name: "m", image: "a" }] },
    });
    const b = templateHash({
      spec: { containers: [{ image: "a", name: "m" }] },
      metadata: { labels: { app: "w" } },
    });
    const c = templateHash({
      metadata: { labels: { app: "w" } },
      spec: { containers: [{ name: "m", image: "b" }] },
    });
    assert.equal(a, b);
    assert.notEqual(a, c);
    assert.match(a, /^[bcdfghjklmnpqrstvwxz2456789]+$/);
  });

  it("resolves percentages up for surge and down for unavailability; 0/0 becomes 0/1", () => {
    assert.equal(resolveIntOrPercent("25%", 10, true, "25%"), 3);
    assert.equal(resolveIntOrPercent("25%", 10, false, "25%"), 2);
    assert.equal(resolveIntOrPercent(2, 10, false, "25%"), 2);
    assert.equal(resolveIntOrPercent(undefined, 4, true, "25%"), 1);
    assert.deepEqual(surgeAndUnavailable(rolling({ maxSurge: 0, maxUnavailable: 0 })), {
      surge: 0,
      unavailable: 1,
    });
  });

  it("surges the new ReplicaSet first, then shrinks the old one only as far as availability allows", () => {
    // maxSurge 1, maxUnavailable 0: one new pod, nothing old goes yet.
    let step = planRollout(rolling({ maxSurge: 1, maxUnavailable: 0 }));
    assert.equal(step.current, 1);
    assert.equal(step.old.size, 0);
    // The new pod is not available yet: the old ones all stay.
    step = planRollout(
      rolling({ maxSurge: 1, maxUnavailable: 0, current: { replicas: 1, available: 0 } }),
    );
    assert.equal(step.current, 1);
    assert.equal(step.old.size, 0);
    // Once it is, one old pod goes.
    step = planRollout(
      rolling({ maxSurge: 1, maxUnavailable: 0, current: { replicas: 1, available: 1 } }),
    );
    assert.equal(step.old.get("v1"), 3);
    // Unavailable old pods go first, within the budget (4 pods - 3 must stay available = 1),
    // and no available one goes while availability (2) is below desired - maxUnavailable (3).
    step = planRollout(
      rolling({
        maxSurge: 0,
        maxUnavailable: 1,
        current: { replicas: 0, available: 0 },
        old: [{ name: "v1", replicas: 4, available: 2 }],
      }),
    );
    assert.equal(step.current, 0);
    assert.equal(step.old.get("v1"), 3);
  });

  it("scales without a rollout, and Recreate empties the old ReplicaSets before the new grows", () => {
    assert.deepEqual(planRollout(rolling({ desired: 6, old: [] })), { current: 6, old: new Map() });
    const step = planRollout(rolling({ strategy: "Recreate" }));
    assert.equal(step.current, 0);
    assert.equal(step.old.get("v1"), 0);
  });
});
