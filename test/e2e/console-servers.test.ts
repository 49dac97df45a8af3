// Two Berth servers on one PostgreSQL, one agent connected to B: a browser's live stream on A
// hears of a task started through B and reported by B's agent (relayed through the store, with
// NOTIFY as the hint), and A and B chart the same datapoints, written once by the leader.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import {
  CreateClusterCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  StopTaskCommand,
} from "@aws-sdk/client-ecs";
import {
  pushBusyboxImage,
  startAgentProcess,
  startBerthProcess,
  until,
  type AgentProcess,
  type BerthProcess,
} from "../../src/testing/index.js";
import { waitForTask } from "../../src/testing/ecs.js";
import { startPostgres, type TestPostgres } from "../../src/testing/postgres.js";
import { consoleFetch, signInByApi } from "./console-browser.js";

let postgres: TestPostgres;
before(async () => {
  postgres = await startPostgres();
});
after(async () => {
  await postgres?.stop();
});

/** A console stream read from the test: every `change` message's data so far. */
async function openStream(
  endpoint: string,
  cookie: string,
): Promise<{ changes: () => { kinds: string[]; taskArns: string[] }[]; close: () => void }> {
  const abort = new AbortController();
  const answer = await fetch(`${endpoint}/console/api/events`, {
    headers: { Cookie: cookie },
    signal: abort.signal,
  });
  assert.equal(answer.status, 200);
  assert.ok(answer.body !== null);
  let text = "";
  const reader = (answer.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  void (async () => {
    try {
      for (;;) {
        const chunk = await reader.read();
        if (chunk.done) return;
        text += decoder.decode(chunk.value, { stream: true });
      }
    } catch {
      // Aborted when the test ends.
    }
  })();
  return {
    changes: () =>
      [...text.matchAll(/event: change\ndata: (.*)\n/g)].map(
        (m) => JSON.parse(m[1] ?? "{}") as { kinds: string[]; taskArns: string[] },
      ),
    close: () => abort.abort(),
  };
}

test("a stream on one server shows a task started through another; both chart the same datapoints", async (t) => {
  const url = await postgres.createDatabase("console");
  const blobDir = mkdtempSync(join(tmpdir(), "berth-blobs-"));
  const env = {
    BERTH_ACCESS_KEY_ID: `AKIA${randomBytes(8).toString("hex").toUpperCase()}`,
    BERTH_SECRET_ACCESS_KEY: randomBytes(20).toString("hex"),
  };
  const args = [
    "--store",
    url,
    "--no-local-agent",
    "--blob-dir",
    blobDir,
    "--metric-period-seconds",
    "1",
  ];
  const servers: BerthProcess[] = [];
  const agents: AgentProcess[] = [];
  const streams: { close: () => void }[] = [];
  t.after(async () => {
    for (const stream of streams) stream.close();
    for (const agent of agents) await agent.stop();
    for (const server of servers) await server.stop();
    rmSync(blobDir, { recursive: true, force: true });
  });
  // One after the other: A takes the lease (and closes the metric periods) and makes the schema.
  servers.push(await startBerthProcess({ args: [...args, "--elb-address", "127.0.0.2"], env }));
  servers.push(await startBerthProcess({ args: [...args, "--elb-address", "127.0.0.3"], env }));
  const [a, b] = servers as [BerthProcess, BerthProcess];
  agents.push(
    await startAgentProcess({
      server: b.join.server,
      caCertHash: b.join.caCertHash,
      token: b.joinToken,
    }),
  );
  const ecsB = new ECSClient({ ...b.clientConfig, maxAttempts: 1 });
  t.after(() => ecsB.destroy());
  const image = (await pushBusyboxImage(b, "busybox")).uri;
  await ecsB.send(new CreateClusterCommand({ clusterName: "relay" }));
  await ecsB.send(
    new RegisterTaskDefinitionCommand({
      family: "sleeper",
      requiresCompatibilities: ["FARGATE"],
      networkMode: "awsvpc",
      cpu: "256",
      memory: "512",
      containerDefinitions: [{ name: "app", image, command: ["sleep", "600"], essential: true }],
    }),
  );

  // The browser's session and stream are A's; everything about the task happens on B.
  const cookieA = await signInByApi(a.endpoint, a.credentials);
  const streamA = await openStream(a.endpoint, cookieA);
  streams.push(streamA);
  const run = await ecsB.send(
    new RunTaskCommand({ cluster: "relay", taskDefinition: "sleeper", launchType: "FARGATE" }),
  );
  const taskArn = run.tasks?.[0]?.taskArn;
  assert.ok(taskArn !== undefined, `RunTask failed: ${JSON.stringify(run.failures)}`);
  await waitForTask(ecsB, taskArn, "RUNNING");
  await until(
    "A's stream names the task B's agent reported",
    async () => streamA.changes(),
    (changes) => changes.some((c) => c.kinds.includes("task") && c.taskArns.includes(taskArn)),
    { timeoutMs: 30_000, everyMs: 200 },
  );

  // The task's datapoints: closed by the leader (A) from samples B received, read by both.
  const cookieB = await signInByApi(b.endpoint, b.credentials);
  const chart = async (server: BerthProcess, cookie: string): Promise<unknown[]> => {
    const answer = await consoleFetch(
      server.endpoint,
      `/console/api/metrics?task=${encodeURIComponent(taskArn)}&minutes=15`,
      { cookie },
    );
    assert.equal(answer.status, 200);
    return ((await answer.json()) as { points: unknown[] }).points;
  };
  const fromB = await until(
    "B charts the task's datapoints",
    () => chart(b, cookieB),
    (points) => points.length >= 2,
    { timeoutMs: 60_000, everyMs: 500 },
  );
  const fromA = await chart(a, cookieA);
  assert.deepEqual(fromA.slice(0, fromB.length), fromB, "A and B chart the same datapoints");

  // A stop through B is heard on A too.
  const heard = streamA.changes().length;
  await ecsB.send(new StopTaskCommand({ cluster: "relay", task: taskArn }));
  await until(
    "A's stream hears of the stop",
    async () => streamA.changes().slice(heard),
    (changes) => changes.some((c) => c.taskArns.includes(taskArn)),
    { timeoutMs: 30_000, everyMs: 200 },
  );
});
