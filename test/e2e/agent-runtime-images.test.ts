/**
 * Images on the host, against real registries on loopback: pull from Debian's Go registry
 * and run the image with runc on an overlay rootfs; Bearer and Basic auth; indexes resolved to
 * linux/amd64; whiteouts and opaque directories; one download for concurrent pulls; digest
 * verification; LRU collection.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, it } from "node:test";
import { silentLogger } from "../../src/core/index.js";
import { createRuncRuntime } from "../../src/agent/runtime/index.js";
import { ImageStore } from "../../src/agent/images/index.js";
import { buildBusyboxImage } from "../../src/testing/index.js";
import {
  makeImage,
  makeLayer,
  pushLayout,
  sha256,
  startDockerRegistry,
  startFakeRegistry,
  type DockerRegistry,
} from "../unit/agent/images/registries.js";
import {
  collectLogs,
  deleteEverything,
  removeCgroupParent,
} from "../unit/agent/runtime/fixtures.js";

/** Mounts under `prefix`, but for each store's snapshots guard (nosuid,nodev, kept for good). */
function mounted(prefix: string): string[] {
  return readFileSync("/proc/mounts", "utf8")
    .split("\n")
    .map((line) => line.split(" ")[1] ?? "")
    .filter((point) => point.startsWith(prefix) && !point.endsWith("/images/snapshots"));
}

/** The options of the mount at `point`. */
function mountOptions(point: string): string[] {
  const line = readFileSync("/proc/mounts", "utf8")
    .split("\n")
    .find((l) => l.split(" ")[1] === point);
  return (line?.split(" ")[3] ?? "").split(",");
}

describe("image store", () => {
  let dir: string;
  let registry: DockerRegistry;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "berth-images-"));
    registry = await startDockerRegistry();
  });
  after(async () => {
    await registry.stop();
    // Everything mounted under the test's dir goes, the stores' snapshots guards too.
    for (let attempt = 0; ; attempt++) {
      const points = readFileSync("/proc/mounts", "utf8")
        .split("\n")
        .map((line) => line.split(" ")[1] ?? "")
        .filter((point) => point.startsWith(dir));
      for (const point of points.reverse()) execFileSync("umount", ["-l", point]);
      try {
        rmSync(dir, { recursive: true, force: true });
        return;
      } catch (error) {
        if (attempt >= 10) throw error;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  });

  it("pulls from the Go registry and runs the image on an overlay rootfs", async () => {
    const image = await buildBusyboxImage({
      tag: "v1",
      cmd: ["cat", "/etc/message"],
      files: { "etc/message": "hello from the image\n" },
    });
    try {
      await pushLayout(image.reference, `${registry.host}/team/busybox:v1`);
    } finally {
      image.remove();
    }
    const root = join(dir, "pull-run");
    const store = new ImageStore({ root: join(root, "images"), log: silentLogger });
    const progress: [number, number][] = [];
    const pulled = await store.pull(`${registry.host}/team/busybox:v1`, {
      onProgress: (done, total) => progress.push([done, total]),
    });
    assert.equal(pulled.digest, image.manifestDigest);
    assert.deepEqual(pulled.config.cmd, ["cat", "/etc/message"]);
    assert.ok(progress.length > 0);
    assert.deepEqual(progress.at(-1), [image.layerSize, image.layerSize]);

    // by digest, from the cache: the registry is not needed
    const again = await store.pull(`${registry.host}/team/busybox@${image.manifestDigest}`);
    assert.equal(again.digest, image.manifestDigest);

    const runtime = createRuncRuntime({
      dataDir: join(root, "agent"),
      cgroupParent: `berth-test-${process.pid}`,
      rootfsProvider: store,
    });
    try {
      await runtime.prepareSandbox({ taskId: "img-task" });
      await runtime.createContainer({
        id: "img-c1",
        taskId: "img-task",
        name: "app",
        rootfs: { imageDigest: pulled.digest },
        args: [...(pulled.config.cmd ?? [])],
      });
      assert.equal(mounted(root).filter((p) => p.endsWith("/merged")).length, 1);
      const guard = mountOptions(join(root, "images", "snapshots"));
      assert.ok(guard.includes("nosuid") && guard.includes("nodev"), String(guard));
      await runtime.startContainer("img-c1");
      assert.equal((await runtime.waitContainer("img-c1")).exitCode, 0);
      assert.equal(await collectLogs(runtime, "img-c1"), "hello from the image");
      await runtime.deleteContainer("img-c1");
      assert.deepEqual(mounted(root), [`${root}/agent/run/netns/img-task`]);
      await runtime.destroySandbox("img-task");
      assert.deepEqual(mounted(root), []);
    } finally {
      await deleteEverything(runtime);
      removeCgroupParent(`berth-test-${process.pid}`);
    }
  });

  it("resolves an index to linux/amd64 behind Bearer auth, honours whiteouts, shares downloads", async () => {
    const base = await makeLayer({
      "a/keep": "kept\n",
      "a/gone": "removed by the upper layer\n",
      "dir/old": "hidden by an opaque dir\n",
    });
    const upper = await makeLayer({ "a/.wh.gone": "", "dir/.wh..wh..opq": "", "dir/new": "new\n" });
    const image = makeImage([base, upper], { Cmd: ["sh"], Env: ["A=1"], WorkingDir: "/a" });
    const other = makeImage([await makeLayer({ "arm64-only": "x" })]);
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.index.v1+json",
        manifests: [
          {
            mediaType: "application/vnd.oci.image.manifest.v1+json",
            digest: other.manifestDigest,
            size: other.manifest.length,
            platform: { os: "linux", architecture: "arm64" },
          },
          {
            mediaType: "application/vnd.oci.image.manifest.v1+json",
            digest: image.manifestDigest,
            size: image.manifest.length,
            platform: { os: "linux", architecture: "amd64" },
          },
        ],
      }),
    );
    const fake = await startFakeRegistry({ auth: "bearer", username: "u", password: "p" });
    try {
      for (const [digest, bytes] of [...image.blobs, ...other.blobs]) fake.blobs.set(digest, bytes);
      const type = "application/vnd.oci.image.manifest.v1+json";
      fake.manifests.set(image.manifestDigest, { type, body: image.manifest });
      fake.manifests.set(other.manifestDigest, { type, body: other.manifest });
      const indexType = "application/vnd.oci.image.index.v1+json";
      fake.manifests.set("multi", { type: indexType, body: index });
      fake.manifests.set(sha256(index), { type: indexType, body: index });

      const store = new ImageStore({ root: join(dir, "index", "images"), log: silentLogger });
      await assert.rejects(store.pull(`${fake.host}/x/multi:multi`), { code: "ImageAccessDenied" });
      const credentials = { username: "u", password: "p" };
      const pulls = await Promise.all([
        store.pull(`${fake.host}/x/multi:multi`, { credentials }),
        store.pull(`${fake.host}/x/multi:multi`, { credentials }),
        store.pull(`${fake.host}/x/multi@${sha256(index)}`, { credentials }),
      ]);
      for (const pulled of pulls) {
        assert.equal(pulled.digest, image.manifestDigest);
        assert.deepEqual(pulled.config, { cmd: ["sh"], env: ["A=1"], workingDir: "/a" });
      }
      for (const layer of image.layerDigests) {
        assert.equal(fake.requests.get(`/v2/x/multi/blobs/${layer}`), 1, "one download a layer");
      }
      assert.equal(fake.requests.get(`/v2/x/multi/blobs/${other.layerDigests[0]}`), undefined);

      const { path } = await store.prepareRootfs(image.manifestDigest, "wh-c1");
      try {
        assert.deepEqual(readdirSync(join(path, "a")), ["keep"]);
        assert.deepEqual(readdirSync(join(path, "dir")), ["new"]);
        assert.equal(readFileSync(join(path, "a/keep"), "utf8"), "kept\n");
      } finally {
        await store.releaseRootfs("wh-c1");
      }
      assert.equal(existsSync(path), false);
      assert.deepEqual(mounted(join(dir, "index")), []);
    } finally {
      await fake.close();
    }
  });

  it("rejects content that does not match its digest and keeps none of it", async () => {
    const image = makeImage([await makeLayer({ f: "data\n" })]);
    const fake = await startFakeRegistry({ auth: "basic", username: "AWS", password: "secret" });
    try {
      for (const [digest, bytes] of image.blobs) fake.blobs.set(digest, bytes);
      fake.manifests.set("v1", {
        type: "application/vnd.oci.image.manifest.v1+json",
        body: image.manifest,
      });
      fake.corrupt.add(image.layerDigests[0] ?? "");
      const root = join(dir, "corrupt", "images");
      const store = new ImageStore({ root, log: silentLogger });
      const credentials = { username: "AWS", password: "secret" };
      await assert.rejects(store.pull(`${fake.host}/r:v1`, { credentials }), {
        code: "DigestMismatch",
      });
      const hex = (image.layerDigests[0] ?? "").slice("sha256:".length);
      assert.equal(existsSync(join(root, "snapshots", hex)), false);
      assert.deepEqual(
        readdirSync(join(root, "blobs", "sha256")).filter((f) => f.includes(hex)),
        [],
      );
      // a wrong password is refused as such
      await assert.rejects(
        store.pull(`${fake.host}/r:v1`, { credentials: { username: "AWS", password: "nope" } }),
        { code: "ImageAccessDenied" },
      );
      fake.corrupt.clear();
      assert.equal(
        (await store.pull(`${fake.host}/r:v1`, { credentials })).digest,
        image.manifestDigest,
      );
    } finally {
      await fake.close();
    }
  });

  it("collects least recently used images no container uses, down to the threshold", async () => {
    const fake = await startFakeRegistry();
    const root = join(dir, "gc", "images");
    const store = new ImageStore({ root, log: silentLogger });
    try {
      const images = [];
      for (const name of ["one", "two", "three"]) {
        const image = makeImage([await makeLayer({ [name]: name.repeat(1000) })]);
        for (const [digest, bytes] of image.blobs) fake.blobs.set(digest, bytes);
        fake.manifests.set(name, {
          type: "application/vnd.oci.image.manifest.v1+json",
          body: image.manifest,
        });
        await store.pull(`${fake.host}/gc:${name}`);
        images.push(image);
      }
      const [one, two, three] = images as [
        (typeof images)[0],
        (typeof images)[0],
        (typeof images)[0],
      ];
      await store.pull(`${fake.host}/gc@${one.manifestDigest}`); // one is now most recent
      await store.prepareRootfs(two.manifestDigest, "gc-c1"); // two is in use
      // room for all but the least recently used image that no container uses (three)
      const layerBytes = (i: typeof one) =>
        i.layerDigests.reduce((sum, d) => sum + (i.blobs.get(d)?.length ?? 0), 0);
      // Collected by another store over the same root, as an agent restarted a second later
      // would: the last uses reached the images' records on disk.
      await sleep(1_500);
      new ImageStore({ root, log: silentLogger }).collect(
        layerBytes(one) + layerBytes(two) + layerBytes(three) - 1,
      );
      const snapshot = (i: typeof one) =>
        existsSync(join(root, "snapshots", (i.layerDigests[0] ?? "").slice(7)));
      assert.deepEqual([snapshot(one), snapshot(two), snapshot(three)], [true, true, false]);
      await store.releaseRootfs("gc-c1");
      store.collect(0);
      assert.deepEqual([snapshot(one), snapshot(two), snapshot(three)], [false, false, false]);
      await assert.rejects(store.prepareRootfs(one.manifestDigest, "gc-c2"), {
        code: "ImageNotPulled",
      });

      // with a threshold, each pull collects what is over it, but never the image it pulled
      const small = new ImageStore({
        root: join(dir, "gc-auto"),
        log: silentLogger,
        maxCacheBytes: 1,
      });
      for (const name of ["one", "two", "three"]) await small.pull(`${fake.host}/gc:${name}`);
      const autoSnapshot = (i: typeof one) =>
        existsSync(join(dir, "gc-auto", "snapshots", (i.layerDigests[0] ?? "").slice(7)));
      assert.deepEqual(
        [autoSnapshot(one), autoSnapshot(two), autoSnapshot(three)],
        [false, false, true],
      );
    } finally {
      await fake.close();
    }
  });
});
