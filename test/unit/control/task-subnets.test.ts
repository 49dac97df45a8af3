/**
 * Task addresses from the control plane: a block of the task CIDR per cluster, a subnet of it
 * per host, stored, unique across hosts and clusters, released with a lost host or a deleted
 * cluster; a block the machine check refuses is passed over.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  clusterBlocks,
  hostSubnets,
  nextFree,
  releaseClusterBlock,
  releaseHostSubnets,
  vniOf,
  type TaskAddressSpace,
} from "../../../src/control/index.js";
import { formatCidr, parseCidr } from "../../../src/core/index.js";
import { hostSubnetFor } from "./host-subnet.js";
import { openSqliteStore, type Store } from "../../../src/store/index.js";

let dir: string;
let store: Store;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), "berth-subnets-"));
  store = await openSqliteStore(join(dir, "berth.db"));
});
after(async () => {
  await store.destroy();
  rmSync(dir, { recursive: true, force: true });
});

const cidr = (text: string) => parseCidr(text) ?? assert.fail(text);
const subnet = (space: TaskAddressSpace, cluster: string, host: string): Promise<string> =>
  store.transaction().execute((trx) => hostSubnetFor(trx, space, cluster, host, 0));

describe("task subnets (pure)", () => {
  it("cuts a /10 into /18 blocks and a block into /24 host subnets; small pools stay whole", () => {
    const blocks = [...clusterBlocks(cidr("100.64.0.0/10"))];
    assert.equal(blocks.length, 256);
    assert.equal(formatCidr(blocks[1] ?? assert.fail()), "100.64.64.0/18");
    const hosts = [...hostSubnets(cidr("100.64.64.0/18"))];
    assert.equal(hosts.length, 64);
    assert.equal(formatCidr(hosts[63] ?? assert.fail()), "100.64.127.0/24");
    assert.deepEqual([...clusterBlocks(cidr("100.99.0.8/29"))].map(formatCidr), ["100.99.0.8/29"]);
    assert.deepEqual([...hostSubnets(cidr("100.99.0.8/29"))].map(formatCidr), ["100.99.0.8/29"]);
  });

  it("takes the first network that overlaps nothing taken", () => {
    const free = nextFree(hostSubnets(cidr("100.64.0.0/22")), [
      cidr("100.64.0.0/24"),
      cidr("100.64.1.128/25"),
    ]);
    assert.equal(formatCidr(free ?? assert.fail()), "100.64.2.0/24");
    assert.equal(nextFree(hostSubnets(cidr("100.64.0.0/24")), [cidr("100.64.0.0/16")]), undefined);
  });

  it("numbers VNIs by block, distinct for distinct blocks", () => {
    assert.equal(vniOf("100.64.0.0/18"), 1);
    assert.notEqual(vniOf("100.64.64.0/18"), vniOf("100.64.0.0/18"));
    assert.ok(vniOf("100.127.192.0/18") < 2 ** 24);
  });
});

describe("task subnets (stored)", () => {
  const space: TaskAddressSpace = { pool: "100.80.0.0/16" };

  it("gives each host of a cluster its own subnet of the cluster's block, the same one again", async () => {
    const a = await subnet(space, "arn:c1", "host-a");
    const b = await subnet(space, "arn:c1", "host-b");
    assert.equal(a, "100.80.0.0/24");
    assert.equal(b, "100.80.1.0/24");
    assert.equal(await subnet(space, "arn:c1", "host-a"), a);
    // Another cluster: another block, even on the same host.
    assert.equal(await subnet(space, "arn:c2", "host-a"), "100.80.64.0/24");
  });

  it("passes over blocks this machine refuses, and gives all back on release", async () => {
    const claimed: string[] = [];
    const released: string[] = [];
    const picky: TaskAddressSpace = {
      pool: "100.80.0.0/16",
      claimBlock: (block) => {
        claimed.push(block);
        return Promise.resolve(block !== "100.80.128.0/18");
      },
      releaseBlock: (block) => void released.push(block),
    };
    assert.equal(await subnet(picky, "arn:c3", "host-a"), "100.80.192.0/24");
    assert.deepEqual(claimed, ["100.80.128.0/18", "100.80.192.0/18"]);
    // The pool is full now.
    await assert.rejects(subnet(picky, "arn:c4", "host-a"), { code: "TaskSubnetsExhausted" });
    await releaseClusterBlock(store, picky, "arn:c3");
    assert.deepEqual(released, ["100.80.192.0/18"]);
    assert.equal(await subnet(picky, "arn:c4", "host-a"), "100.80.192.0/24");
  });

  it("releases a lost host's subnets; the next host takes the lowest free one", async () => {
    await releaseHostSubnets(store, "host-a");
    assert.equal(await subnet(space, "arn:c1", "host-c"), "100.80.0.0/24");
    assert.equal(await subnet(space, "arn:c1", "host-b"), "100.80.1.0/24");
  });
});
