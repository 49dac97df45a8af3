/** The prepared-sandbox pool's size from the recent launch rate (issue 18, item 1). */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  DEFAULT_POOL_SIZING,
  poolTarget,
  recentLaunches,
  type PoolSizing,
} from "../../../../src/agent/tasks/pool-sizing.js";

const sizing: PoolSizing = { windowMs: 10_000, leadMs: 2_000, idleMs: 60_000, max: 8 };
const NOW = 1_000_000;
const SUBNET_24 = 256;

/** `count` launches spread evenly over the `spanMs` before now. */
function launches(count: number, spanMs: number): number[] {
  return Array.from({ length: count }, (_, i) => NOW - Math.floor((i * spanMs) / count));
}

describe("poolTarget", () => {
  it("is zero for a cluster that never launched here", () => {
    assert.equal(poolTarget([], NOW, SUBNET_24, sizing), 0);
  });

  it("is zero once the cluster has been idle for idleMs, and one just before", () => {
    assert.equal(poolTarget([NOW - 60_000], NOW, SUBNET_24, sizing), 0);
    assert.equal(poolTarget([NOW - 59_999], NOW, SUBNET_24, sizing), 1);
  });

  it("keeps one entry for a cluster that launches slowly", () => {
    assert.equal(poolTarget(launches(2, 10_000), NOW, SUBNET_24, sizing), 1);
  });

  it("covers leadMs of launches at the window's rate", () => {
    // 20 launches in 10 s: 2/s, so 4 within the next 2 s.
    assert.equal(poolTarget(launches(20, 10_000), NOW, SUBNET_24, sizing), 4);
    // 35 in 10 s: 3.5/s -> 7 (rounded up).
    assert.equal(poolTarget(launches(35, 10_000), NOW, SUBNET_24, sizing), 7);
  });

  it("never exceeds max", () => {
    assert.equal(poolTarget(launches(500, 10_000), NOW, SUBNET_24, sizing), 8);
  });

  it("takes at most a sixteenth of the subnet's addresses: none of a /29's", () => {
    assert.equal(poolTarget(launches(500, 10_000), NOW, 64, sizing), 4);
    assert.equal(poolTarget(launches(500, 10_000), NOW, 8, sizing), 0);
  });

  it("ignores launches outside the window for the rate, and future timestamps", () => {
    const old = Array.from({ length: 100 }, (_, i) => NOW - 20_000 - i);
    assert.equal(poolTarget([...old, NOW - 1], NOW, SUBNET_24, sizing), 1);
    assert.equal(poolTarget([NOW + 5_000], NOW, SUBNET_24, sizing), 0);
  });

  it("defaults: a burst of 20 callers fills the pool to its max", () => {
    assert.equal(poolTarget(launches(600, 30_000), NOW, SUBNET_24), DEFAULT_POOL_SIZING.max);
  });
});

describe("recentLaunches", () => {
  it("keeps only what the window or the idle rule can still use", () => {
    const kept = recentLaunches([NOW - 70_000, NOW - 30_000, NOW - 1, NOW + 1], NOW, sizing);
    assert.deepEqual(kept, [NOW - 30_000, NOW - 1]);
  });
});
