// Admitting a task's ephemeral storage against the host's disk (issue 12, item 10).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  admitStorage,
  offeredStorageBytes,
  overcommitFrom,
  reserveBytes,
} from "../../../../src/agent/runtime/storage-budget.js";

const GiB = 1024 ** 3;
const disk = (freeGiB: number, images: Array<[number, number]> = []) => ({
  freeBytes: freeGiB * GiB,
  totalBytes: 100 * GiB,
  images: images.map(([size, written]) => ({
    sizeBytes: size * GiB,
    allocatedBytes: written * GiB,
  })),
});

describe("admitStorage", () => {
  it("admits what fits in the free space less the reserve, counting what live tasks may still write", () => {
    // 100 GiB disk: 5 GiB reserve. 50 free, two 20 GiB tasks that wrote 2 and 8: 30 promised.
    assert.equal(reserveBytes(100 * GiB), 5 * GiB);
    const state = disk(50, [
      [20, 2],
      [20, 8],
    ]);
    assert.equal(admitStorage(state, 15 * GiB).fits, true); // 30 + 15 <= 45
    const refused = admitStorage(state, 20 * GiB); // 30 + 20 > 45
    assert.equal(refused.fits, false);
    assert.equal(refused.promisedBytes, 30 * GiB);
    assert.equal(refused.usableBytes, 45 * GiB);
    assert.equal(refused.overcommitted, false);
  });

  it("lets an operator overcommit, and says when the live tasks alone could fill the disk", () => {
    const state = disk(30, [
      [20, 0],
      [20, 0],
    ]); // 40 promised, 25 usable
    assert.equal(admitStorage(state, 20 * GiB).fits, false);
    const verdict = admitStorage(state, 20 * GiB, 4);
    assert.equal(verdict.fits, true);
    assert.equal(verdict.overcommitted, true);
    assert.equal(admitStorage(disk(0.5), GiB).fits, false, "nothing below the reserve");
  });

  it("reads the ratio from the environment, 1 unless a number of at least 1", () => {
    assert.equal(overcommitFrom(undefined), 1);
    assert.equal(overcommitFrom("abc"), 1);
    assert.equal(overcommitFrom("0.5"), 1);
    assert.equal(overcommitFrom("3"), 3);
  });
});

describe("offeredStorageBytes", () => {
  it("offers placement the free space less the reserve plus what task images already hold", () => {
    // 50 free less 5 reserve, plus 10 the two tasks wrote: 55 GiB that task sizes count against.
    const state = disk(50, [
      [20, 2],
      [20, 8],
    ]);
    assert.equal(offeredStorageBytes(state), 55 * GiB);
    assert.equal(offeredStorageBytes(state, 2), 110 * GiB);
    assert.equal(offeredStorageBytes(disk(0.5)), 0, "nothing below the reserve");
  });
});
