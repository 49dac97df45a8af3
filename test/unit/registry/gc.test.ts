/**
 * Garbage collection: unreferenced blobs go; referenced, freshly linked or in-flight ones stay;
 * a deposed leader's maintenance pass (lifecycle and GC) deletes nothing.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Lease, LeaseLost } from "../../../src/control/leases.js";
import { sha256, startTestRegistry } from "./test-registry.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("garbage collection", () => {
  it("removes only blobs no manifest references", async () => {
    const t = await startTestRegistry({ gcGraceMs: 0 });
    try {
      await t.createRepository("app");
      const path = (digest: string) =>
        join(t.dir, "registry", "blobs", "sha256", digest.slice(7, 9), digest.slice(7));
      const manifest = await t.pushImage("app", "v1", "kept");
      const image = await t.registry.metadata.image("app", manifest);
      assert.ok(image);
      const orphan = await t.pushBlob("app", Buffer.from("nobody references me"));
      const deletedImage = await t.pushImage("app", "v2", "dropped");
      const dropped = JSON.parse((await t.registry.blobs.read(deletedImage)).toString()) as {
        layers: Array<{ digest: string }>;
      };
      await t.registry.deleteManifest("app", deletedImage);
      // An upload in progress is not a blob yet: GC must leave the session alone.
      const session = await t.request("/v2/app/blobs/uploads/", { method: "POST" });
      const location = session.headers.get("location") ?? "";
      await t.request(location, { method: "PATCH", body: "half" });

      const result = await t.registry.collectGarbage();
      assert.ok(result.removedBlobs.includes(orphan));
      assert.ok(result.removedBlobs.includes(deletedImage));
      assert.ok(result.removedBlobs.includes(dropped.layers[0]?.digest ?? ""));
      assert.equal(existsSync(path(orphan)), false);
      assert.equal(existsSync(path(manifest)), true);
      const kept = JSON.parse((await t.registry.blobs.read(manifest)).toString()) as {
        config: { digest: string };
        layers: Array<{ digest: string }>;
      };
      for (const digest of [kept.config.digest, ...kept.layers.map((l) => l.digest)])
        assert.equal(existsSync(path(digest)), true, digest);
      assert.equal((await t.request(`/v2/app/manifests/v1`)).status, 200);
      assert.equal((await t.request(`/v2/app/blobs/${orphan}`)).status, 404);
      const finished = await t.request(`${location}?digest=${sha256("half")}`, { method: "PUT" });
      assert.equal(finished.status, 201);
    } finally {
      await t.close();
    }
  });

  it("runs on demand with POST /v2/_berth/gc", async () => {
    const t = await startTestRegistry({ gcGraceMs: 0 });
    try {
      await t.createRepository("app");
      const orphan = await t.pushBlob("app", Buffer.from("collect me on demand"));
      const response = await t.request("/v2/_berth/gc", { method: "POST" });
      assert.equal(response.status, 200);
      const result = (await response.json()) as { removedBlobs: string[] };
      assert.deepEqual(result.removedBlobs, [orphan]);
      assert.equal((await t.request(`/v2/app/blobs/${orphan}`)).status, 404);
      const anonymous = await fetch(`${t.url}/v2/_berth/gc`, { method: "POST" });
      assert.equal(anonymous.status, 401);
    } finally {
      await t.close();
    }
  });

  it("never collects a blob linked within the grace period", async () => {
    const t = await startTestRegistry({ gcGraceMs: 60 * 60 * 1000 });
    try {
      await t.createRepository("app");
      const fresh = await t.pushBlob("app", Buffer.from("just uploaded, manifest to follow"));
      const result = await t.registry.collectGarbage();
      assert.deepEqual(result.removedBlobs, []);
      assert.equal((await t.request(`/v2/app/blobs/${fresh}`)).status, 200);
    } finally {
      await t.close();
    }
  });

  it("deletes nothing, manifests nor blobs, in a pass of a leader deposed meanwhile", async () => {
    const t = await startTestRegistry({ gcGraceMs: 0 });
    try {
      await t.createRepository("app");
      const path = (digest: string) =>
        join(t.dir, "registry", "blobs", "sha256", digest.slice(7, 9), digest.slice(7));
      const orphan = await t.pushBlob("app", Buffer.from("nobody references me"));
      await t.pushImage("app", "v1", "older");
      await t.pushImage("app", "v2", "newer");
      // Set without applying it: the maintenance pass is what would expire one of the two.
      await t.registry.updateRepository("app", {
        lifecyclePolicy: JSON.stringify({
          rules: [
            {
              rulePriority: 1,
              selection: { tagStatus: "any", countType: "imageCountMoreThan", countNumber: 1 },
              action: { type: "expire" },
            },
          ],
        }),
      });
      // "old" led, was paused past its lease, and "new" leads now.
      const old = new Lease({ store: t.store, role: "control-plane", holder: "old", ttlMs: 200 });
      const current = new Lease({ store: t.store, role: "control-plane", holder: "new" });
      assert.equal(await old.tryAcquire(), true);
      await sleep(300);
      assert.equal(await current.tryAcquire(), true);
      const images = async () =>
        (await t.registry.images("app")).map((image) => image.digest).length;

      await assert.rejects(
        t.registry.maintain((trx) => old.fence(trx)),
        LeaseLost,
      );
      await assert.rejects(
        t.registry.collectGarbage((trx) => old.fence(trx)),
        LeaseLost,
      );
      assert.equal(await images(), 2, "no image expired");
      assert.equal(existsSync(path(orphan)), true, "no blob removed");
      assert.equal((await t.request(`/v2/app/blobs/${orphan}`)).status, 200);
      assert.equal(old.isHeld(), false, "it stepped down");

      // The leader's pass does both.
      const result = await t.registry.maintain((trx) => current.fence(trx));
      assert.equal(await images(), 1);
      assert.ok(result.removedBlobs.includes(orphan));
      assert.equal(existsSync(path(orphan)), false);
    } finally {
      await t.close();
    }
  });

  it("on demand, runs only on the server leading maintenance, and fenced", async () => {
    const t = await startTestRegistry({ gcGraceMs: 0, maintainedByLeader: true });
    try {
      await t.createRepository("app");
      const orphan = await t.pushBlob("app", Buffer.from("collect me on the leader only"));
      const onDemand = () => t.request("/v2/_berth/gc", { method: "POST" });
      // Not leading (maintenance never started here): refused, nothing removed.
      const follower = await onDemand();
      assert.equal(follower.status, 503);
      assert.match(await follower.text(), /does not lead it now/);
      assert.equal((await t.request(`/v2/app/blobs/${orphan}`)).status, 200);
      // Leading, then deposed (another holder took the lease): the fence refuses the deletes.
      const old = new Lease({ store: t.store, role: "control-plane", holder: "old", ttlMs: 200 });
      assert.equal(await old.tryAcquire(), true);
      t.registry.startMaintenance((trx) => old.fence(trx));
      await sleep(300);
      const current = new Lease({ store: t.store, role: "control-plane", holder: "new" });
      assert.equal(await current.tryAcquire(), true);
      assert.equal((await onDemand()).status, 503);
      assert.equal((await t.request(`/v2/app/blobs/${orphan}`)).status, 200);
      await t.registry.stopMaintenance();
      // The leader's on-demand run collects.
      t.registry.startMaintenance((trx) => current.fence(trx));
      const leader = await onDemand();
      assert.equal(leader.status, 200);
      const result = (await leader.json()) as { removedBlobs: string[] };
      assert.deepEqual(result.removedBlobs, [orphan]);
      await t.registry.stopMaintenance();
    } finally {
      await t.close();
    }
  });
});
