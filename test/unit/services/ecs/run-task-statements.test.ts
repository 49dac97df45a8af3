// RunTask's statements, end to end through the ECS action (roles checked, as the server runs
// it) on a real SQLite store: each one is a round trip on PostgreSQL, where bench:placement
// found a RunTask's dozen of them to be most of its cost.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import type { RunTaskResponse } from "@aws-sdk/client-ecs";
import { internalContext, renderJson } from "../../../../src/aws/index.js";
import { TaskCommands } from "../../../../src/control/index.js";
import { silentLogger, systemClock } from "../../../../src/core/index.js";
import { createEcsService } from "../../../../src/services/ecs/index.js";
import { RUNTIME_TAG, sandboxRuntime } from "../../../../src/services/ecs/sandbox-runtime.js";
import { openSqliteStore, putTags } from "../../../../src/store/index.js";
import { addHost } from "../../control/placement-contract.js";

void test("a RunTask of ten tasks is read and placed in a few statements", async () => {
  const dir = mkdtempSync(join(tmpdir(), "berth-run-task-"));
  const store = await openSqliteStore(join(dir, "berth.db"));
  try {
    for (let i = 0; i < 10; i++) await addHost(store, `h${i}`, 4);
    let statements = 0;
    const counted = store.withPlugin({
      transformQuery: (args) => {
        statements++;
        return args.node;
      },
      transformResult: (args) => Promise.resolve(args.result),
    });
    const ecs = createEcsService({
      store: counted,
      tasks: new TaskCommands({
        store: counted,
        hosts: { assign: () => undefined, stop: () => undefined },
        log: silentLogger,
      }),
      roles: { mayPass: () => Promise.resolve(), assumable: () => Promise.resolve("ok") },
    });
    const ctx = internalContext(
      {
        identity: { accountId: "000000000000", region: "us-east-1" },
        clock: systemClock,
        log: silentLogger,
      },
      "AKIATEST",
    );
    const call = (action: string, input: object): Promise<unknown> =>
      (ecs.actions[action] as (input: object, ctx: unknown) => Promise<unknown>)(input, ctx);
    await call("CreateCluster", { clusterName: "c" });
    await call("RegisterTaskDefinition", {
      family: "f",
      requiresCompatibilities: ["FARGATE"],
      networkMode: "awsvpc",
      cpu: "256",
      memory: "512",
      containerDefinitions: [{ name: "app", image: "busybox", essential: true }],
    });
    const run = async (clientToken = `t${statements}`, count = 10): Promise<RunTaskResponse> =>
      (await call("RunTask", {
        cluster: "c",
        taskDefinition: "f",
        count,
        clientToken,
      })) as RunTaskResponse;
    // The first cuts the hosts' subnets; the second is what every later one costs.
    assert.equal((await run()).tasks?.length, 10);
    statements = 0;
    const second = await run("second");
    assert.equal(second.tasks?.length, 10);
    assert.deepEqual(second.failures, []);
    // The cluster with the clientToken's earlier answer, the definition and the runtime tags
    // of both (one read); then the claim (the subnets held read with it), the rows and the
    // answer; the group's load is the host picture's, read with the first. The definition read
    // twice, a tag read each and the answer read alone were 11; the definition, the cluster with
    // the answer and the tags read apart, 6.
    assert.ok(statements <= 4, `${statements} statements`);
    // The response is the answer recorded for its token, rendered once: rendering it as the
    // gateway does gives the recorded text, with no JSON.stringify of its own.
    const recorded = await store
      .selectFrom("idempotency")
      .select("response")
      .where("token", "=", "second")
      .executeTakeFirstOrThrow();
    const stringify = JSON.stringify;
    let stringified = 0;
    JSON.stringify = ((...args: Parameters<typeof stringify>) => {
      stringified++;
      return stringify(...args);
    }) as typeof JSON.stringify;
    try {
      assert.equal(renderJson(second), recorded.response);
    } finally {
      JSON.stringify = stringify;
    }
    assert.equal(stringified, 0, "the response rendered again");
    // The same token again: the first answer, from that one read.
    statements = 0;
    const again = await run("second");
    assert.deepEqual(
      again.tasks?.map((task) => task.taskArn),
      second.tasks?.map((task) => task.taskArn),
    );
    assert.ok(statements <= 1, `${statements} statements for an answer given before`);
    await assert.rejects(run("second", 9), /already used with different parameters/);
    await assert.rejects(
      call("RunTask", { cluster: "nowhere", taskDefinition: "f", clientToken: "second" }),
      (error: { code?: string }) => error.code === "ClusterNotFoundException",
    );
  } finally {
    await store.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
});

void test("the runtime tag: the definition's before the cluster's, read in one statement", async () => {
  const dir = mkdtempSync(join(tmpdir(), "berth-run-task-"));
  const store = await openSqliteStore(join(dir, "berth.db"));
  try {
    const [definition, cluster, other] = ["arn:td", "arn:cluster", "arn:other"];
    await putTags(store, cluster, [{ key: RUNTIME_TAG, value: "runsc" }]);
    await putTags(store, other, [{ key: RUNTIME_TAG, value: "gvisor" }]);
    assert.equal(await sandboxRuntime(store, cluster, definition), "runsc");
    await putTags(store, definition, [{ key: RUNTIME_TAG, value: "runc" }]);
    assert.equal(await sandboxRuntime(store, cluster, definition), "runc");
    assert.equal(await sandboxRuntime(store, "arn:none", "arn:nothing"), undefined);
    await assert.rejects(sandboxRuntime(store, other, "arn:nothing"), /must be runc or runsc/);
  } finally {
    await store.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
});
