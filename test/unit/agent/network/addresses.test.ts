/** Task addresses on disk, as host-local kept them: one file per address, round robin. */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { releaseAddress, takeAddress } from "../../../../src/agent/network/addresses.js";
import { parseCidr, type Cidr } from "../../../../src/agent/network/subnets.js";

const root = mkdtempSync(join(tmpdir(), "berth-addresses-"));
after(() => rmSync(root, { recursive: true, force: true }));
const subnet = parseCidr("100.64.9.0/29") as Cidr;
let dirs = 0;
const freshDir = (): string => join(root, `net-${dirs++}`);

describe("task addresses", () => {
  it("gives every task address of the subnet once (not the gateway nor broadcast), then none", () => {
    const dir = freshDir();
    const given = ["a", "b", "c", "d", "e"].map((owner) => takeAddress(dir, subnet, owner, "eth0"));
    assert.deepEqual(given, ["100.64.9.2", "100.64.9.3", "100.64.9.4", "100.64.9.5", "100.64.9.6"]);
    assert.throws(() => takeAddress(dir, subnet, "f", "eth0"), { code: "NetworkSetupFailed" });
  });

  it("keeps host-local's files: the owner in the address's file, the last given beside", () => {
    const dir = freshDir();
    takeAddress(dir, subnet, "task-1", "eth0");
    assert.equal(readFileSync(join(dir, "100.64.9.2"), "utf8"), "task-1\r\neth0");
    assert.equal(readFileSync(join(dir, "last_reserved_ip.0"), "utf8"), "100.64.9.2");
  });

  it("goes on after the last address given (round robin), also from host-local's files", () => {
    const dir = freshDir();
    takeAddress(dir, subnet, "a", "eth0");
    // What host-local left: .5 given last (and .3 still held).
    writeFileSync(join(dir, "100.64.9.3"), "old\r\neth0");
    writeFileSync(join(dir, "last_reserved_ip.0"), "100.64.9.5");
    assert.equal(takeAddress(dir, subnet, "b", "eth0"), "100.64.9.6");
    assert.equal(takeAddress(dir, subnet, "c", "eth0"), "100.64.9.4");
    releaseAddress(dir, "100.64.9.2", "a");
    // .2 is free again, but .5 comes first: a released address is the last to be given again.
    assert.equal(takeAddress(dir, subnet, "d", "eth0"), "100.64.9.5");
    assert.equal(takeAddress(dir, subnet, "e", "eth0"), "100.64.9.2");
  });

  it("releases an address only for its owner", () => {
    const dir = freshDir();
    const address = takeAddress(dir, subnet, "owner", "eth0");
    releaseAddress(dir, address, "someone-else");
    assert.ok(readdirSync(dir).includes(address));
    releaseAddress(dir, address, "owner");
    assert.ok(!readdirSync(dir).includes(address));
    releaseAddress(dir, address, "owner"); // already free: fine
  });
});
