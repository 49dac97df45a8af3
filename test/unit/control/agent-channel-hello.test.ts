// A hello the server fails part way (the store went away between registering the channel and
// reading the host's tasks for its sync, as when PostgreSQL restarts) must not leave a channel
// that looks connected but applies nothing: the server closes it and the agent says hello again.
// The real agent and server ends of the channel over a socket; the store, SQLite, fails one read.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { TableNode, type KyselyPlugin, type RootOperationNode } from "kysely";
import { AgentChannel } from "../../../src/agent/channel.js";
import { AgentChannelServer, enrollLocalHost } from "../../../src/control/index.js";
import { createTasks } from "../../../src/control/tasks.js";
import { silentLogger, systemClock } from "../../../src/core/index.js";
import type { ServerMessage } from "../../../src/protocol/index.js";
import { openSqliteStore } from "../../../src/store/index.js";
import { addHost, draft } from "./placement-contract.js";

const dir = mkdtempSync(join(tmpdir(), "berth-hello-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Fails the first read of the tasks table once armed, as a dropped database connection does. */
class FailOneTasksRead implements KyselyPlugin {
  armed = false;
  transformQuery({ node }: { node: RootOperationNode }): RootOperationNode {
    const from = node.kind === "SelectQueryNode" ? node.from?.froms[0] : undefined;
    if (
      this.armed &&
      from !== undefined &&
      TableNode.is(from) &&
      from.table.identifier.name === "tasks"
    ) {
      this.armed = false;
      throw new Error("terminating connection due to administrator command");
    }
    return node;
  }
  transformResult<T>({ result }: { result: T }): Promise<T> {
    return Promise.resolve(result);
  }
}

test("a hello that failed after its welcome is closed and said again; the host's reports then apply", async () => {
  const base = await openSqliteStore(join(dir, "berth.db"));
  const failing = new FailOneTasksRead();
  const store = base.withPlugin(failing);
  const hostId = "host-hello";
  const secret = "s".repeat(43);
  await addHost(base, hostId, 1);
  await enrollLocalHost(base, hostId, secret, new Date());
  const taskArn = (await createTasks(base, [draft()])).assignments[0]?.assignment.taskArn;
  assert.ok(taskArn !== undefined);

  const server = new AgentChannelServer({
    store,
    clock: systemClock,
    log: silentLogger,
    plainAllowed: () => true,
  });
  const http = createServer();
  http.on("upgrade", (req, socket, head) => server.handleUpgrade(req, socket, head));
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  const welcomes: ServerMessage[] = [];
  const syncs: ServerMessage[] = [];
  const acked: string[] = [];
  const agent = new AgentChannel(
    `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
    { secret },
    {
      hostId,
      availabilityZone: "us-east-1a",
      cpu: 1024,
      memory: 2048,
      capacityProviders: ["FARGATE"],
    },
    {
      snapshot: () => [],
      onMessage: (message) => {
        if (message.type === "sync") syncs.push(message);
      },
      onAcked: (arn) => acked.push(arn),
      onWelcome: (welcome) => welcomes.push(welcome),
    },
    silentLogger,
  );
  try {
    failing.armed = true;
    agent.start();
    for (let i = 0; i < 500 && syncs.length === 0; i++) await sleep(10);
    // The first hello was welcomed, then failed reading the sync; the second got both.
    assert.equal(failing.armed, false, "the sync's read failed once");
    assert.equal(welcomes.length, 2, "welcomed twice: the failed channel was closed");
    assert.equal(syncs.length, 1);

    agent.report({ taskArn, lastStatus: "RUNNING", containers: [] });
    for (let i = 0; i < 500 && acked.length === 0; i++) await sleep(10);
    assert.deepEqual(acked, [taskArn]);
    const row = await base
      .selectFrom("tasks")
      .select("last_status")
      .where("arn", "=", taskArn)
      .executeTakeFirstOrThrow();
    assert.equal(row.last_status, "RUNNING");
  } finally {
    agent.close();
    await server.close();
    await new Promise((resolve) => http.close(resolve));
    await base.destroy();
  }
});
