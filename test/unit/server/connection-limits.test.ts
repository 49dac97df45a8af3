/**
 * Unauthenticated exhaustion (issue 12, item 5): one address opening more idle connections than
 * its share gets the surplus closed at once, and the rest closed when they send no headers,
 * while health and signed requests from another client still answer.
 */
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import { DescribeClustersCommand, ECSClient } from "@aws-sdk/client-ecs";
import { apiConnectionLimits } from "../../../src/server/http.js";
import { startBerthInProcess, until, type TestBerth } from "../../../src/testing/index.js";

let berth: TestBerth;
const sockets: Socket[] = [];

before(async () => {
  berth = await startBerthInProcess();
});
after(async () => {
  for (const socket of sockets) socket.destroy();
  await berth.stop();
});

describe("connection limits", () => {
  it("caps one address's idle connections and still serves others", async () => {
    const port = Number(new URL(berth.endpoint).port);
    const attempts = apiConnectionLimits().perAddress + 100;
    let closed = 0;
    await Promise.all(
      Array.from(
        { length: attempts },
        () =>
          new Promise<void>((resolve) => {
            // The attacker's own loopback address, so the test's client is another one.
            const socket = connect({ port, host: "127.0.0.1", localAddress: "127.0.0.2" });
            sockets.push(socket);
            socket.on("error", () => undefined);
            socket.once("close", () => closed++);
            socket.once("connect", () => resolve());
            socket.once("close", () => resolve());
          }),
      ),
    );
    await until(
      "the surplus over the per-address limit is closed",
      () => Promise.resolve(closed),
      (count) => count >= 100,
      { timeoutMs: 30_000 },
    );
    const health = await fetch(`${berth.endpoint}/_berth/health`);
    assert.equal(health.status, 200);
    const ecs = new ECSClient(berth.clientConfig);
    try {
      const { clusters = [] } = await ecs.send(new DescribeClustersCommand({}));
      assert.equal(clusters[0]?.clusterName, "default");
    } finally {
      ecs.destroy();
    }
  });
});
