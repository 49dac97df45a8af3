/**
 * The parts of `runc start` and `runc delete` the agent does itself (oci-cli.ts `RuncCli`), on
 * real runc containers: started through the exec.fifo, and an ended container's cgroups and
 * state removed, without a runc process. A wrapper that logs every runc call shows which calls
 * went to runc; what is left on the host (state dir, each cgroup runc made) shows the job done.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, it } from "node:test";
import { RuncCli } from "../../src/agent/runtime/oci-cli.js";
import {
  makeFixture,
  removeCgroupParent,
  uniqueId,
  type RuntimeFixture,
} from "../unit/agent/runtime/fixtures.js";

describe("runc containers started and deleted by the agent itself", () => {
  let fixture: RuntimeFixture;
  let root: string;
  let calls: string;
  let cli: RuncCli;

  before(() => {
    fixture = makeFixture();
    root = join(fixture.dir, "runc");
    calls = join(fixture.dir, "calls.log");
    writeFileSync(calls, "");
    // Stands in for libexec/berth-runc: logs the call, then runs it.
    const wrapper = join(fixture.dir, "runc-wrapper");
    writeFileSync(wrapper, `#!/bin/sh\necho "$*" >> ${calls}\nexec "$@"\n`);
    chmodSync(wrapper, 0o755);
    cli = new RuncCli(wrapper, "runc", root);
  });
  after(async () => {
    for (const id of spawnSync("runc", ["--root", root, "list", "-q"], { encoding: "utf8" })
      .stdout.split("\n")
      .filter(Boolean))
      spawnSync("runc", ["--root", root, "delete", "--force", id], { stdio: "ignore" });
    removeCgroupParent(fixture.cgroupParent);
    await rm(fixture.dir, { recursive: true, force: true });
  });

  /** `runc create` of a busybox container running `args` in its own cgroup under the fixture's. */
  function create(args: string[], id = uniqueId("cli")): { id: string; cgroups: string[] } {
    const bundle = join(fixture.dir, id);
    mkdirSync(bundle, { recursive: true });
    rmSync(join(bundle, "config.json"), { force: true }); // an id made again: a new spec
    execFileSync("runc", ["spec"], { cwd: bundle });
    const config = JSON.parse(readFileSync(join(bundle, "config.json"), "utf8")) as {
      root: { path: string; readonly: boolean };
      process: { args: string[]; terminal: boolean };
      linux: { cgroupsPath?: string };
    };
    config.root = { path: fixture.rootfs, readonly: true };
    config.process.args = args;
    config.process.terminal = false;
    config.linux.cgroupsPath = `/${fixture.cgroupParent}/${id}`;
    writeFileSync(join(bundle, "config.json"), JSON.stringify(config));
    execFileSync("runc", ["--root", root, "create", "--bundle", bundle, id], { stdio: "ignore" });
    const state = JSON.parse(readFileSync(join(root, id, "state.json"), "utf8")) as {
      cgroup_paths: Record<string, string>;
    };
    const cgroups = Object.values(state.cgroup_paths);
    assert.ok(cgroups.length > 0 && cgroups.every((path) => existsSync(path)));
    return { id, cgroups };
  }

  function runcCalls(verb: string, id: string): number {
    return readFileSync(calls, "utf8")
      .split("\n")
      .filter((line) => line.includes(` ${verb}`) && line.endsWith(` ${id}`)).length;
  }

  it("starts a container through its exec.fifo and deletes it once ended, running no runc", async () => {
    const { id, cgroups } = create(["sh", "-c", "exit 3"]);
    assert.equal((await cli.state(id)).status, "created");
    await cli.start(id);
    assert.equal(existsSync(join(root, id, "exec.fifo")), false, "the fifo went with the start");
    for (let i = 0; i < 250 && (await cli.state(id)).status !== "stopped"; i++) await sleep(20);
    assert.equal((await cli.state(id)).status, "stopped", "the container ran and ended");

    await cli.delete(id);
    assert.equal(existsSync(join(root, id)), false, "runc's state dir is gone");
    for (const path of cgroups) assert.equal(existsSync(path), false, `${path} is gone`);
    assert.equal((await cli.state(id)).status, "absent");
    assert.equal(runcCalls("start", id), 0, "no runc start");
    assert.equal(runcCalls("delete", id), 0, "no runc delete");
  });

  it("leaves a running container's delete to runc, which kills it", async () => {
    const { id, cgroups } = create(["sleep", "60"]);
    await cli.start(id);
    assert.equal((await cli.state(id)).status, "running");
    await cli.delete(id);
    assert.equal(runcCalls("delete", id), 1, "runc deleted it");
    assert.equal((await cli.state(id)).status, "absent");
    for (const path of cgroups) assert.equal(existsSync(path), false, `${path} is gone`);
  });

  it("reads a container made again under a deleted one's id as the new one", async () => {
    // The state read at the first container's start is kept until its delete.
    const { id } = create(["true"]);
    const first = await cli.state(id);
    await cli.start(id);
    for (let i = 0; i < 250 && (await cli.state(id)).status !== "stopped"; i++) await sleep(20);
    await cli.delete(id);
    create(["sleep", "60"], id);
    const again = await cli.state(id);
    assert.equal(again.status, "created");
    assert.notEqual(again.pid, first.pid, "the new container's init, not the old one's");
    await cli.start(id);
    assert.equal((await cli.state(id)).status, "running");
    await cli.delete(id);
    assert.equal((await cli.state(id)).status, "absent");
  });

  it("leaves a created container's delete to runc", async () => {
    const { id, cgroups } = create(["true"]);
    await cli.delete(id);
    assert.equal(runcCalls("delete", id), 1, "runc deleted it");
    assert.equal((await cli.state(id)).status, "absent");
    for (const path of cgroups) assert.equal(existsSync(path), false, `${path} is gone`);
  });
});
