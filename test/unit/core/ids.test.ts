// Task ids (newHexId): drawn from a pool of random bytes refilled 4 KiB at a time, each id
// still 32 hex characters and never one handed out before, across refills.
import assert from "node:assert/strict";
import { test } from "node:test";
import { newHexId } from "../../../src/core/ids.js";

void test("task ids are 32 hex characters and distinct across refills of their random bytes", () => {
  const seen = new Set<string>();
  // 1,000 ids are 16,000 bytes: the pool is refilled three times along the way.
  for (let i = 0; i < 1000; i++) {
    const id = newHexId();
    assert.match(id, /^[0-9a-f]{32}$/);
    assert.ok(!seen.has(id), `${id} handed out twice`);
    seen.add(id);
  }
});
