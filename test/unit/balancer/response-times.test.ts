/**
 * TargetResponseTime as the data plane records it: an upgrade (WebSocket) through a listener is
 * timed like any request, to the target's 101 or its refusal, into its group's histogram.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { connect, type AddressInfo, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { LoadBalancerPlane } from "../../../src/balancer/index.js";
import { silentLogger } from "../../../src/core/index.js";
import { openSqliteStore, type Store } from "../../../src/store/index.js";
import { freePort } from "../../../src/testing/index.js";

const LB = "arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/app/ws/1";
const GROUP = "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/ws/1";
const LISTENER = "arn:aws:elasticloadbalancing:us-east-1:000000000000:listener/app/ws/1/1";
/** How long the target takes to answer a handshake. */
const DELAY_MS = 150;

/** Sends a raw upgrade request and resolves with the status line of the answer. */
function upgrade(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () =>
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: ws\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n`,
      ),
    );
    let text = "";
    socket.on("data", (chunk: Buffer) => {
      text += chunk.toString();
      const end = text.indexOf("\r\n");
      if (end < 0) return;
      socket.destroy();
      resolve(text.slice(0, end));
    });
    socket.on("error", reject);
  });
}

describe("TargetResponseTime of upgrades", () => {
  let dir: string;
  let store: Store;
  let target: Server;
  let plane: LoadBalancerPlane;
  let port: number;
  const upgraded = new Set<Socket>();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "berth-lb-times-"));
    store = await openSqliteStore(join(dir, "berth.db"));
    // The target answers each handshake after DELAY_MS: /ws with a 101, /refuse with a 426.
    target = createServer((_req, res) => res.end("ok"));
    target.on("upgrade", (req, socket: Socket) => {
      upgraded.add(socket);
      socket.on("error", () => undefined);
      setTimeout(() => {
        socket.write(
          req.url === "/refuse"
            ? "HTTP/1.1 426 Upgrade Required\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            : "HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n",
        );
      }, DELAY_MS);
    });
    await new Promise<void>((resolve) => target.listen(0, "127.0.0.1", resolve));
    const targetPort = (target.address() as AddressInfo).port;
    port = await freePort();
    const now = Date.now();
    await store
      .insertInto("elb_load_balancers")
      .values({
        arn: LB,
        name: "ws",
        document: JSON.stringify({ LoadBalancerArn: LB, DNSName: "ws" }),
        created_at: now,
        attributes: null,
      })
      .execute();
    await store
      .insertInto("elb_target_groups")
      .values({
        arn: GROUP,
        name: "ws",
        // No health checks: the target is routable at once, and nothing but the test talks to it.
        document: JSON.stringify({ TargetGroupArn: GROUP, HealthCheckEnabled: false }),
        attributes: "{}",
        created_at: now,
      })
      .execute();
    await store
      .insertInto("elb_listeners")
      .values({ arn: LISTENER, load_balancer_arn: LB, port, document: "{}", created_at: now })
      .execute();
    await store
      .insertInto("elb_rules")
      .values({
        arn: `${LISTENER}/default`,
        listener_arn: LISTENER,
        priority: 50_001,
        document: JSON.stringify({
          Conditions: [],
          Actions: [{ Type: "forward", TargetGroupArn: GROUP }],
        }),
      })
      .execute();
    await store
      .insertInto("elb_targets")
      .values({
        target_group_arn: GROUP,
        id: "127.0.0.1",
        port: targetPort,
        availability_zone: null,
        task_arn: null,
        registered_at: now,
        draining_until: null,
      })
      .execute();
    plane = new LoadBalancerPlane({ store, log: silentLogger, syncIntervalMs: 60_000 });
    await plane.start();
  });

  after(async () => {
    await plane.close();
    for (const socket of upgraded) socket.destroy();
    await new Promise<void>((resolve) => target.close(() => resolve()));
    await store.destroy();
    await rm(dir, { recursive: true, force: true });
  });

  it("times the handshake to the target's 101, and to its refusal", async () => {
    assert.equal(plane.responseTimes().get(GROUP), undefined);
    assert.equal(await upgrade(port, "/ws"), "HTTP/1.1 101 Switching Protocols");
    const first = plane.responseTimes().get(GROUP);
    assert.equal(first?.count, 1);
    assert.ok((first?.sumSeconds ?? 0) >= DELAY_MS / 1000, `${first?.sumSeconds}`);
    assert.ok((first?.sumSeconds ?? 0) < 5, `${first?.sumSeconds}`);
    // The 101 lands in a bucket whose bound is at least the delay.
    const bucket = first?.buckets.findIndex((n) => n > 0) ?? -1;
    assert.ok((first?.bounds[bucket] ?? 0) >= DELAY_MS / 1000);
    // A target that refuses the upgrade answered too: its refusal is timed the same way.
    assert.equal(await upgrade(port, "/refuse"), "HTTP/1.1 426 Upgrade Required");
    const second = plane.responseTimes().get(GROUP);
    assert.equal(second?.count, 2);
    assert.ok((second?.sumSeconds ?? 0) >= (2 * DELAY_MS) / 1000);
    // Both were counted as requests as well.
    assert.equal(plane.requestCounts().get(GROUP), 2);
  });
});
