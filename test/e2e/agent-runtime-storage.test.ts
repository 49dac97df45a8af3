/**
 * Task storage on the host, below the task layer: a sized task gets an ext4 image from the pool,
 * formatted and mounted ahead; the pool refills, and is unmounted when the runtime stops; removal
 * is idempotent and finishes what a crash left (a loop device attached but never mounted, a
 * mount no sandbox record knows).
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statfsSync,
  statSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { open } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import { purgeTaskStorage, TaskFilesystems } from "../../src/agent/runtime/index.js";

const GiB = 1024 ** 3;

function mountedAt(path: string): string | undefined {
  return readFileSync("/proc/self/mounts", "utf8")
    .split("\n")
    .map((line) => line.split(" "))
    .find((fields) => fields[1] === path)?.[2];
}

describe("task storage on the host", () => {
  let root: string;
  let storage: TaskFilesystems;

  before(() => {
    root = mkdtempSync(join(tmpdir(), "berth-storage-"));
    storage = new TaskFilesystems(root);
  });
  after(async () => {
    await storage.close();
    await purgeTaskStorage(root);
    rmSync(root, { recursive: true, force: true });
  });

  it("mounts a filesystem of the task's size with its volumes, and removes it twice over", async () => {
    const path = await storage.create("sized", 21, ["a", "b"]);
    assert.equal(mountedAt(path), "ext4");
    const { blocks, bsize } = statfsSync(path);
    assert.ok(blocks * bsize > 0.97 * 21 * GiB && blocks * bsize <= 21 * GiB);
    // Sparse, and no resize inode's reserved blocks (4.4 MB of a 20 GiB image's with them).
    const allocated = statSync(join(root, "sized", "image")).blocks * 512;
    assert.ok(allocated < 1024 * 1024, `the image allocates ${allocated} bytes`);
    assert.deepEqual(readdirSync(join(path, "volumes")).sort(), ["a", "b"]);
    assert.equal(await storage.loopDevices(), 1);
    // Idempotent: a second create of the same task changes nothing.
    assert.equal(await storage.create("sized", 21, ["a", "b"]), path);
    assert.equal(await storage.loopDevices(), 1);

    await storage.settled(); // the pool's background formatting
    const pool = readdirSync(join(root, "pool")).filter((n) => !n.endsWith(".tmp"));
    assert.equal(pool.length, 2, "two images of this size formatted ahead");
    for (const name of pool) {
      assert.ok(name.startsWith("21-"), name);
      assert.equal(mountedAt(join(root, "pool", name, "fs")), "ext4", `${name} is mounted ahead`);
    }
    assert.equal(await storage.loopDevices(), 1, "the pool's loop devices are not a task's");

    await storage.remove("sized");
    await storage.remove("sized");
    assert.equal(mountedAt(path), undefined);
    assert.equal(existsSync(path), false);
    assert.equal(existsSync(join(root, "sized")), false);
    assert.equal(await storage.loopDevices(), 0);
  });

  it("claims a formatted and mounted entry from the pool instead of making one", async () => {
    await storage.settled();
    const before = readdirSync(join(root, "pool")).filter((n) => n.startsWith("21-"));
    const mounted = readFileSync("/proc/self/mounts", "utf8");
    const path = await storage.create("pooled", 21, []);
    const after = readdirSync(join(root, "pool")).filter((n) => n.startsWith("21-"));
    const taken = before.filter((name) => !after.includes(name));
    assert.equal(taken.length, 1, "one of the pool's entries was taken");
    // Its mount went with it: the same filesystem (device) now at the task's path.
    const device = (at: string, mounts: string): string | undefined =>
      mounts
        .split("\n")
        .map((line) => line.split(" "))
        .find((fields) => fields[1] === at)?.[0];
    const pooledDevice = device(join(root, "pool", taken[0] ?? "", "fs"), mounted);
    assert.ok(pooledDevice?.startsWith("/dev/loop"), `pooled at ${pooledDevice}`);
    assert.equal(device(path, readFileSync("/proc/self/mounts", "utf8")), pooledDevice);
    await storage.remove("pooled");
  });

  it("passes over a pool directory without an image, and leaves it nowhere", async () => {
    const own = mkdtempSync(join(tmpdir(), "berth-storage-"));
    const fresh = new TaskFilesystems(own);
    try {
      // The pool's only entry, so the one claimed.
      mkdirSync(join(own, "pool", "21-stray", "fs"), { recursive: true });
      const path = await fresh.create("strayed", 21, []);
      assert.equal(mountedAt(path), "ext4");
      assert.equal(existsSync(join(own, "pool", "21-stray")), false);
    } finally {
      await fresh.close();
      await purgeTaskStorage(own);
      rmSync(own, { recursive: true, force: true });
    }
  });

  it("removes a task's storage in the layout before this one (image beside its mount point)", async () => {
    const dir = join(root, "legacy");
    mkdirSync(dir);
    execFileSync("truncate", ["-s", "1G", `${dir}.img`]);
    execFileSync("mkfs.ext4", ["-q", "-F", "-O", "^has_journal", `${dir}.img`]);
    execFileSync("mount", ["-t", "ext4", "-o", "loop", `${dir}.img`, dir]);
    await storage.remove("legacy");
    assert.equal(mountedAt(dir), undefined);
    assert.equal(existsSync(dir), false);
    assert.equal(existsSync(`${dir}.img`), false);
    assert.equal(await storage.loopDevices(), 0);
  });

  it("gives a task without a size a plain directory", async () => {
    const path = await storage.create("unsized", undefined, ["v"]);
    assert.equal(mountedAt(path), undefined);
    assert.ok(existsSync(join(path, "volumes", "v")));
    await storage.remove("unsized");
    assert.equal(existsSync(path), false);
  });

  it("removes storage a process still holds: detached at once, freed when it lets go", async () => {
    const path = await storage.create("busy", 21, []);
    const held = await open(join(path, "held"), "w");
    try {
      await storage.remove("busy");
      assert.equal(mountedAt(path), undefined);
      assert.equal(existsSync(path), false);
      assert.equal(existsSync(join(root, "busy")), false);
    } finally {
      await held.close();
    }
    // A bounded wait: the kernel frees the loop device once the filesystem is released.
    const deadline = Date.now() + 10_000;
    while ((await storage.loopDevices()) > 0 && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(await storage.loopDevices(), 0);
  });

  it("detaches a loop device a crash left attached, and purges mounts no record knows", async () => {
    await storage.create("crashed", 21, []);
    const image = join(root, "crashed", "image");
    execFileSync("umount", [join(root, "crashed", "fs")]);
    // What a crash between losetup and mount leaves.
    execFileSync("losetup", ["-f", image]);
    assert.equal(await storage.loopDevices(), 1);
    await storage.remove("crashed");
    assert.equal(await storage.loopDevices(), 0);
    assert.equal(existsSync(image), false);

    await storage.create("orphan", 21, []);
    await purgeTaskStorage(root);
    assert.equal(mountedAt(join(root, "orphan", "fs")), undefined);
    assert.equal(await storage.loopDevices(), 0);
    assert.deepEqual(
      readdirSync(root).filter((n) => n !== "pool"),
      [],
    );
  });

  it("removes the pool when the runtime stops; an entry a restart unmounted is mounted by its claim", async () => {
    // The earlier tests' instance refills the same pool in the background: done first, so the
    // entries listed below are all formatted and mounted (a half-made one is not).
    await storage.settled();
    const stopping = new TaskFilesystems(root);
    await stopping.create("first", 21, []);
    await stopping.settled();
    const entries = readdirSync(join(root, "pool")).filter((n) => n.startsWith("21-"));
    assert.ok(entries.length > 0);
    // What a host restart leaves: the entries formatted, none mounted.
    for (const name of entries) execFileSync("umount", [join(root, "pool", name, "fs")]);
    const again = new TaskFilesystems(root);
    const path = await again.create("later", 21, []);
    assert.equal(mountedAt(path), "ext4");
    assert.equal(
      readdirSync(join(root, "pool")).filter((n) => entries.includes(n)).length,
      entries.length - 1,
      "one of them was claimed",
    );
    await again.settled();
    await again.close();
    await stopping.close();
    assert.deepEqual(
      readdirSync(join(root, "pool")),
      [],
      "the runtime's stop leaves no pool entry",
    );
    await again.remove("later");
    await stopping.remove("first");
    assert.equal(await again.loopDevices(), 0);
    assert.equal(readFileSync("/proc/self/mounts", "utf8").includes(join(root, "pool")), false);
  });
});
