/**
 * Micro benchmark of the agent's launch path on a warm image cache: prepare the task sandbox
 * (cgroup + netns), create the container (overlay rootfs, bundle, conmon, `runc create`) and
 * start it, until it runs. Printed beside the floor measured in the same run: bare
 * `runc run --detach` of the same bundle. Also with the sandbox prepared ahead of demand, and
 * with the task's 20 GiB ephemeral storage (an image from the pool, mounted), beside formatting
 * one inline.
 *
 *   npm run bench:runtime [-- --iterations 100]
 *
 * Needs root, runc, conmon. Uses a temp data dir and its own cgroup parent; removes both.
 */
import { execFileSync, spawnSync } from "node:child_process";
import {
  closeSync,
  copyFileSync,
  openSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  rmdirSync,
  writeFileSync,
} from "node:fs";
import { readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger } from "../../src/core/index.js";
import { ImageStore } from "../../src/agent/images/index.js";
import { createRuncRuntime, TaskFilesystems } from "../../src/agent/runtime/index.js";
import { BridgeTaskNetwork } from "../../src/agent/network/index.js";
import { startThroughExecFifo } from "../../src/agent/runtime/oci-cli.js";
import {
  makeImage,
  makeLayer,
  startFakeRegistry,
} from "../../test/unit/agent/images/registries.js";

const flag = process.argv.indexOf("--iterations");
const N = flag > 0 ? Number(process.argv[flag + 1]) : 100;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

function summary(values: number[]): { p50: number; p90: number; p99: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p90: percentile(sorted, 90), p99: percentile(sorted, 99) };
}

const dir = mkdtempSync(join(tmpdir(), "berth-bench-runtime-"));
const cgroupParent = `berth-bench-${process.pid}`;

async function main(): Promise<void> {
  // A warm cache: the busybox image pulled once from an in-process registry.
  const busybox = { content: readFileSync("/usr/bin/busybox"), mode: 0o755 };
  const image = makeImage([await makeLayer({ "bin/busybox": busybox })]);
  const registry = await startFakeRegistry();
  const store = new ImageStore({ root: join(dir, "images"), log: silentLogger });
  for (const [digest, bytes] of image.blobs) registry.blobs.set(digest, bytes);
  registry.manifests.set("v1", {
    type: "application/vnd.oci.image.manifest.v1+json",
    body: image.manifest,
  });
  const pulled = await store.pull(`${registry.host}/bench:v1`);
  await registry.close();

  const rt = createRuncRuntime({
    dataDir: join(dir, "agent"),
    cgroupParent,
    rootfsProvider: store,
  });
  const args = ["/bin/busybox", "sleep", "1000"];
  /** The container every measurement starts: busybox sleeping, from the pulled image. */
  const createApp = (taskId: string, id: string) =>
    rt.createContainer({ id, taskId, name: "app", rootfs: { imageDigest: pulled.digest }, args });
  const cold: number[] = [];
  const warm: number[] = [];
  const stored: number[] = [];
  const phases = {
    sandbox: [] as number[],
    storedSandbox: [] as number[],
    create: [] as number[],
    start: [] as number[],
    destroy: [] as number[],
    storedDestroy: [] as number[],
  };

  for (let i = 0; i < N * 3; i++) {
    // In turn: sandbox on the path, sandbox prepared ahead, sandbox with 20 GiB storage.
    const mode = (["cold", "ahead", "storage"] as const)[i % 3];
    const ahead = mode === "ahead";
    const taskId = `bench-${i}`;
    const id = `bench-${i}-app`;
    // As the agent does: the sandbox and the storage side by side.
    const prepare = (): Promise<unknown> =>
      Promise.all([
        rt.prepareSandbox({ taskId, cpu: 256, memoryMiB: 512 }),
        mode === "storage" ? rt.prepareStorage({ taskId, ephemeralStorageGiB: 20 }) : undefined,
      ]);
    if (ahead) await prepare();
    const t0 = performance.now();
    if (!ahead) await prepare();
    const t1 = performance.now();
    await createApp(taskId, id);
    const t2 = performance.now();
    await rt.startContainer(id);
    const t3 = performance.now();
    ({ cold, ahead: warm, storage: stored })[mode ?? "cold"].push(t3 - t0);
    if (mode === "cold") {
      phases.sandbox.push(t1 - t0);
      phases.create.push(t2 - t1);
      phases.start.push(t3 - t2);
    }
    if (mode === "storage") phases.storedSandbox.push(t1 - t0);
    await rt.deleteContainer(id);
    const t4 = performance.now();
    await rt.destroySandbox(taskId);
    if (mode !== "ahead")
      (mode === "storage" ? phases.storedDestroy : phases.destroy).push(performance.now() - t4);
  }

  // Starting alone, in turn: a `runc start` process (as Berth did) and through the container's
  // exec.fifo (as Berth does, what runc start does inside), on containers created the same way.
  const runcStarts: number[] = [];
  const fifoStarts: number[] = [];
  const runcRoot = join(dir, "agent", "run", "runc");
  for (let i = 0; i < N * 2; i++) {
    const taskId = `start-${i}`;
    const id = `start-${i}-app`;
    await rt.prepareSandbox({ taskId, cpu: 256, memoryMiB: 512 });
    const { pid } = await createApp(taskId, id);
    const t0 = performance.now();
    if (i % 2 === 0) spawnSync("runc", ["--root", runcRoot, "start", id], { stdio: "ignore" });
    else await startThroughExecFifo(join(runcRoot, id, "exec.fifo"), pid ?? 0);
    (i % 2 === 0 ? runcStarts : fifoStarts).push(performance.now() - t0);
    await rt.deleteContainer(id);
    await rt.destroySandbox(taskId);
  }

  // The storage alone, in turn: an entry from the pool (formatted and mounted, refilled off the
  // clock) and one formatted and mounted on the launch path (an empty pool).
  const pooled: number[] = [];
  const inline: number[] = [];
  const pool = new TaskFilesystems(join(dir, "pooled"));
  for (let i = 0; i < N * 2; i++) {
    const fromPool = i % 2 === 0;
    const root = join(dir, fromPool ? "pooled" : `inline-${i}`);
    const storage = fromPool ? pool : new TaskFilesystems(root);
    await storage.settled(); // the pool is full again
    const t0 = performance.now();
    await storage.create("task", 20, []);
    (fromPool ? pooled : inline).push(performance.now() - t0);
    if (!fromPool) await storage.close(); // its own pool's refill, unmounted
    await storage.remove("task");
    if (!fromPool) rmSync(root, { recursive: true, force: true });
  }
  await pool.close();

  // The task network alone: its address attached in a sandbox's namespace (on the launch path
  // beside creating the containers) and released (teardown), on a cluster bridge that exists.
  const attached: number[] = [];
  const detached: number[] = [];
  const network = new BridgeTaskNetwork({ dataDir: join(dir, "agent") });
  const clusterArn = "arn:aws:ecs:us-east-1:000000000000:cluster/bench";
  for (let i = -1; i < N; i++) {
    const taskId = `net-${i}`;
    const { netnsPath } = await rt.prepareSandbox({ taskId, cpu: 256, memoryMiB: 512 });
    const t0 = performance.now();
    await network.attach({ taskId, clusterArn, netnsPath });
    const t1 = performance.now();
    await network.detach({ taskId, clusterArn, netnsPath });
    const t2 = performance.now();
    // The first makes the cluster's bridge and rules: not a launch's cost.
    if (i >= 0) {
      attached.push(t1 - t0);
      detached.push(t2 - t1);
    }
    await rt.destroySandbox(taskId);
  }
  await network.purge();

  // The floor: bare runc on the same bundle (our config.json, a plain busybox rootfs).
  const bundle = join(dir, "bare");
  mkdirSync(join(bundle, "rootfs/bin"), { recursive: true });
  copyFileSync("/usr/bin/busybox", join(bundle, "rootfs/bin/busybox"));
  execFileSync("chmod", ["755", join(bundle, "rootfs/bin/busybox")]);
  await rt.prepareSandbox({ taskId: "bare", cpu: 256, memoryMiB: 512 });
  await rt.createContainer({
    id: "bare-template",
    taskId: "bare",
    name: "app",
    rootfs: { path: join(bundle, "rootfs") },
    args,
  });
  const config = JSON.parse(
    readFileSync(join(dir, "agent/containers/bare-template/config.json"), "utf8"),
  ) as {
    linux: { cgroupsPath: string };
  };
  const bare: number[] = [];
  const root = join(dir, "bare-root");
  const errorsPath = join(dir, "bare-stderr");
  const errors = openSync(errorsPath, "w");
  for (let i = 0; i < N; i++) {
    config.linux.cgroupsPath = `/${cgroupParent}/bare/b${i}`;
    writeFileSync(join(bundle, "config.json"), JSON.stringify(config));
    const t0 = performance.now();
    // stdio to a file: the container inherits it, so a pipe would never close.
    const result = spawnSync(
      "runc",
      ["--root", root, "run", "--detach", "--bundle", bundle, `b${i}`],
      {
        stdio: ["ignore", errors, errors],
      },
    );
    bare.push(performance.now() - t0);
    if (result.status !== 0)
      throw new Error(`runc run failed: ${readFileSync(errorsPath, "utf8")}`);
    spawnSync("runc", ["--root", root, "delete", "--force", `b${i}`], { stdio: "ignore" });
  }
  closeSync(errors);
  await rt.deleteContainer("bare-template"); // kept until here: its /etc files are mounted
  await rt.destroySandbox("bare");
  await rt.close();

  const floor = summary(bare);
  const rows: [string, { p50: number; p90: number; p99: number }][] = [
    ["bare runc run --detach (floor)", floor],
    ["berth: sandbox + create + start", summary(cold)],
    ["berth: create + start (sandbox ahead)", summary(warm)],
    ["berth: sandbox with 20 GiB storage + create + start", summary(stored)],
    ["  phase: sandbox (cgroup + netns)", summary(phases.sandbox)],
    ["  phase: sandbox + 20 GiB storage", summary(phases.storedSandbox)],
    ["  phase: 20 GiB storage from the pool (mounted ahead)", summary(pooled)],
    ["  phase: 20 GiB storage formatted inline (mkfs + mount)", summary(inline)],
    ["  phase: network attach (address in the netns, rules)", summary(attached)],
    ["  phase: network detach", summary(detached)],
    ["  phase: create (overlay, bundle, conmon, runc create)", summary(phases.create)],
    ["  phase: start (as the agent does)", summary(phases.start)],
    ["  phase: start, a runc start process", summary(runcStarts)],
    ["  phase: start, through exec.fifo", summary(fifoStarts)],
    ["  phase: destroy sandbox", summary(phases.destroy)],
    ["  phase: destroy sandbox + storage (umount, delete)", summary(phases.storedDestroy)],
  ];
  console.log(`launch path, warm image cache, ${N} containers each (ms)`);
  console.log(
    `${"".padEnd(56)}${"p50".padStart(8)}${"p90".padStart(8)}${"p99".padStart(8)}   ratio p50 to floor`,
  );
  for (const [name, s] of rows) {
    const ratio = name.startsWith("  ") ? "" : `   x${(s.p50 / floor.p50).toFixed(2)}`;
    console.log(
      `${name.padEnd(56)}${s.p50.toFixed(1).padStart(8)}${s.p90.toFixed(1).padStart(8)}${s.p99.toFixed(1).padStart(8)}${ratio}`,
    );
  }
}

try {
  await main();
} catch (error) {
  console.error(error);
  process.exitCode = 1;
} finally {
  for (const line of readFileSync("/proc/mounts", "utf8").split("\n")) {
    const point = line.split(" ")[1] ?? "";
    if (point.startsWith(dir + "/")) spawnSync("umount", ["-l", point]);
  }
  for (const hierarchy of readdirSync("/sys/fs/cgroup")) {
    const base = join("/sys/fs/cgroup", hierarchy, cgroupParent);
    spawnSync("find", [base, "-depth", "-type", "d", "-exec", "rmdir", "{}", ";"], {
      stdio: "ignore",
    });
    try {
      rmdirSync(base);
    } catch {
      // gone already
    }
  }
  rmSync(dir, { recursive: true, force: true });
}
