/**
 * Service writes from several servers: an UpdateService never overwrites another server's
 * change made between its read and its write, and auto scaling's new desired count is fenced by
 * the leader's lease (a deposed leader's count is never written).
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { rootPrincipal, type RequestContext } from "../../../../src/aws/index.js";
import { Lease, LeaseLost } from "../../../../src/control/leases.js";
import { silentLogger, systemClock } from "../../../../src/core/index.js";
import { serviceDesiredCountSetter } from "../../../../src/services/ecs/index.js";
import { ensureDefaultCluster } from "../../../../src/services/ecs/clusters.js";
import { serviceHandlers } from "../../../../src/services/ecs/services.js";
import { taskDefinitionHandlers } from "../../../../src/services/ecs/task-definitions.js";
import { openSqliteStore, type Store } from "../../../../src/store/index.js";

const dir = mkdtempSync(join(tmpdir(), "berth-service-writes-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const identity = { accountId: "000000000000", region: "us-east-1" };
const ctx: RequestContext = {
  requestId: "r",
  identity,
  clock: systemClock,
  log: silentLogger,
  accessKeyId: "test",
  principal: rootPrincipal(identity.accountId),
};
let n = 0;

async function withService(): Promise<Store> {
  const store = await openSqliteStore(join(dir, `s${++n}.db`));
  await ensureDefaultCluster(store, identity, new Date());
  const definitions = taskDefinitionHandlers(store);
  for (const image of ["busybox", "busybox:2"])
    await definitions.registerTaskDefinition(
      {
        family: "web",
        requiresCompatibilities: ["FARGATE"],
        networkMode: "awsvpc",
        cpu: "256",
        memory: "512",
        containerDefinitions: [{ name: "app", image }],
      },
      ctx,
    );
  await serviceHandlers({ store, kick: () => undefined }).createService(
    { serviceName: "web", taskDefinition: "web:1", desiredCount: 1 },
    ctx,
  );
  return store;
}

async function serviceRow(store: Store) {
  return store.selectFrom("services").selectAll().executeTakeFirstOrThrow();
}

test("two UpdateServices at once both take effect", async () => {
  const store = await withService();
  // Two handler sets stand for two servers on one store.
  const a = serviceHandlers({ store, kick: () => undefined });
  const b = serviceHandlers({ store, kick: () => undefined });
  await Promise.all([
    a.updateService({ service: "web", desiredCount: 3 }, ctx),
    b.updateService({ service: "web", taskDefinition: "web:2" }, ctx),
    a.updateService({ service: "web", healthCheckGracePeriodSeconds: 30 }, ctx),
  ]);
  const row = await serviceRow(store);
  const service = JSON.parse(row.document) as {
    service: {
      desiredCount: number;
      taskDefinition: string;
      healthCheckGracePeriodSeconds: number;
    };
  };
  assert.equal(row.desired_count, 3);
  assert.equal(service.service.desiredCount, 3);
  assert.match(service.service.taskDefinition, /task-definition\/web:2$/);
  assert.equal(service.service.healthCheckGracePeriodSeconds, 30);
  await store.destroy();
});

test("a deposed leader's auto scaling writes no desired count", async () => {
  const store = await withService();
  const old = new Lease({ store, role: "control-plane", holder: "old", ttlMs: 200 });
  const current = new Lease({ store, role: "control-plane", holder: "new", ttlMs: 10_000 });
  assert.equal(await old.tryAcquire(), true);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(await current.tryAcquire(), true);
  const setter = (lease: Lease) =>
    serviceDesiredCountSetter({
      store,
      kick: () => undefined,
      identity,
      clock: systemClock,
      log: silentLogger,
      fence: (trx) => lease.fence(trx),
    });
  await assert.rejects(setter(old)("default", "web", 5), LeaseLost);
  assert.equal((await serviceRow(store)).desired_count, 1);
  await setter(current)("default", "web", 5);
  assert.equal((await serviceRow(store)).desired_count, 5);
  await store.destroy();
});
