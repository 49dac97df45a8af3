/**
 * The load balancers' data plane against a started Berth: listeners made with the SDK really
 * listen, route by rules to healthy targets (HTTP servers on loopback here; services' tasks in
 * elb-services), spread requests, stream bodies, tunnel WebSocket upgrades, add X-Forwarded-*
 * headers, follow health checks (unhealthy targets are skipped, all unhealthy fails open),
 * answer 503 with no target, and drain deregistered targets without cutting their requests.
 */
import assert from "node:assert/strict";
import { createServer, request, type Server } from "node:http";
import { connect, type AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateRuleCommand,
  CreateTargetGroupCommand,
  DeregisterTargetsCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  ModifyTargetGroupAttributesCommand,
  RegisterTargetsCommand,
  type TargetHealthDescription,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { freePort, startBerthInProcess, type TestBerth } from "../../src/testing/index.js";
import type { RunningBerth } from "../../src/server/index.js";

let berth: TestBerth & { berth: RunningBerth };
let elb: ElasticLoadBalancingV2Client;
const backends: Backend[] = [];
let listenerPort = 0;
let dnsName = "";

interface Backend {
  name: string;
  port: number;
  server: Server;
  /** What /health answers. */
  healthStatus: number;
  hits: number;
  /** Requests under way (the slow path holds them). */
  release: (() => void)[];
}

async function startBackend(name: string): Promise<Backend> {
  const backend: Backend = {
    name,
    port: 0,
    server: createServer(),
    healthStatus: 200,
    hits: 0,
    release: [],
  };
  backend.server.on("request", (req, res) => {
    if (req.url === "/health") {
      res.writeHead(backend.healthStatus).end();
      return;
    }
    backend.hits++;
    if (req.url?.endsWith("/slow") === true) {
      backend.release.push(() => res.end(`${name} slow`));
      return;
    }
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          name,
          url: req.url,
          body: Buffer.concat(chunks).toString(),
          forwardedFor: req.headers["x-forwarded-for"],
          forwardedProto: req.headers["x-forwarded-proto"],
          forwardedPort: req.headers["x-forwarded-port"],
        }),
      );
    });
  });
  // A WebSocket-style upgrade: 101, then echo in upper case.
  backend.server.on("upgrade", (_req, socket) => {
    socket.write(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n",
    );
    socket.on("data", (data: Buffer) => socket.write(`${name}:${data.toString().toUpperCase()}`));
    // Upgraded sockets are half-open capable: end ours when the proxy ends its side.
    socket.on("end", () => socket.end());
  });
  await new Promise<void>((resolve) => backend.server.listen(0, "127.0.0.1", resolve));
  backend.port = (backend.server.address() as AddressInfo).port;
  return backend;
}

/** One request through the listener, with `host` as the Host header. */
function get(
  path: string,
  options: { method?: string; body?: string; host?: string } = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port: listenerPort,
        path,
        method: options.method ?? "GET",
        headers: { host: options.host ?? dnsName },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }),
        );
      },
    );
    req.on("error", reject);
    if (options.body !== undefined) {
      // Streamed in pieces: the proxy must pass a chunked body through.
      for (const piece of options.body.match(/.{1,5}/g) ?? []) req.write(piece);
    }
    req.end();
  });
}

async function health(tgArn: string): Promise<TargetHealthDescription[]> {
  const answer = await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: tgArn }));
  return answer.TargetHealthDescriptions ?? [];
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 600; i++) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const statesOf = async (tgArn: string): Promise<string> =>
  (await health(tgArn))
    .map((d) => `${d.Target?.Port}:${d.TargetHealth?.State}`)
    .sort()
    .join(" ");

let webTg = "";
let apiTg = "";

before(async () => {
  // The backends are processes on the host: loopback is listed explicitly, as an operator would.
  berth = await startBerthInProcess({ elbTargetCidrs: ["127.0.0.1/32"] });
  elb = new ElasticLoadBalancingV2Client(berth.clientConfig);
  for (const name of ["a", "b", "c", "api"]) backends.push(await startBackend(name));
  listenerPort = await freePort();
  const { LoadBalancers } = await elb.send(new CreateLoadBalancerCommand({ Name: "plane" }));
  dnsName = LoadBalancers?.[0]?.DNSName ?? "";
  const group = async (name: string) =>
    (
      await elb.send(
        new CreateTargetGroupCommand({
          Name: name,
          Protocol: "HTTP",
          Port: 80,
          TargetType: "ip",
          HealthCheckPath: "/health",
          HealthCheckIntervalSeconds: 5,
          HealthCheckTimeoutSeconds: 2,
          HealthyThresholdCount: 2,
          UnhealthyThresholdCount: 2,
        }),
      )
    ).TargetGroups?.[0]?.TargetGroupArn ?? "";
  webTg = await group("web");
  apiTg = await group("api");
  const { Listeners } = await elb.send(
    new CreateListenerCommand({
      Protocol: "HTTP",
      LoadBalancerArn: LoadBalancers?.[0]?.LoadBalancerArn,
      Port: listenerPort,
      DefaultActions: [{ Type: "forward", TargetGroupArn: webTg }],
    }),
  );
  await elb.send(
    new CreateRuleCommand({
      ListenerArn: Listeners?.[0]?.ListenerArn,
      Priority: 10,
      Conditions: [{ Field: "path-pattern", Values: ["/api/*"] }],
      Actions: [{ Type: "forward", TargetGroupArn: apiTg }],
    }),
  );
  await elb.send(
    new RegisterTargetsCommand({
      TargetGroupArn: webTg,
      Targets: backends.slice(0, 3).map((b) => ({ Id: "127.0.0.1", Port: b.port })),
    }),
  );
  await elb.send(
    new RegisterTargetsCommand({
      TargetGroupArn: apiTg,
      Targets: [{ Id: "127.0.0.1", Port: backends[3]?.port }],
    }),
  );
});

after(async () => {
  elb?.destroy();
  await berth?.stop();
  for (const backend of backends) {
    for (const release of backend.release) release();
    backend.server.closeAllConnections();
    await new Promise<void>((resolve) => backend.server.close(() => resolve()));
  }
});

describe("ELB data plane", () => {
  it("starts targets in initial and makes them healthy by their health checks", async () => {
    const states = await statesOf(webTg);
    assert.match(states, /initial/);
    await waitFor("healthy targets", async () =>
      (await health(webTg)).every((d) => d.TargetHealth?.State === "healthy") &&
      (await health(apiTg)).every((d) => d.TargetHealth?.State === "healthy")
        ? true
        : undefined,
    );
  });

  it("spreads requests round robin and routes by path, with X-Forwarded-* headers", async () => {
    const names: string[] = [];
    for (let i = 0; i < 9; i++) {
      const answer = await get(`/page?i=${i}`);
      assert.equal(answer.status, 200);
      const body = JSON.parse(answer.body) as Record<string, string>;
      names.push(body.name ?? "");
      assert.equal(body.forwardedFor, "127.0.0.1");
      assert.equal(body.forwardedProto, "http");
      assert.equal(body.forwardedPort, String(listenerPort));
    }
    assert.deepEqual(
      ["a", "b", "c"].map((n) => names.filter((x) => x === n).length),
      [3, 3, 3],
    );
    const api = JSON.parse((await get("/api/items")).body) as Record<string, string>;
    assert.equal(api.name, "api");
    assert.equal(api.url, "/api/items");
    const counts = berth.berth.loadBalancers.requestCounts();
    assert.equal(counts.get(webTg), 9);
    assert.equal(counts.get(apiTg), 1);
  });

  it("streams a request body through and tunnels an upgraded connection", async () => {
    const echoed = JSON.parse(
      (await get("/echo", { method: "POST", body: "x".repeat(100_000) })).body,
    ) as {
      body: string;
    };
    assert.equal(echoed.body.length, 100_000);

    // The upgrade is a request like any other: counted, and timed to the target's 101.
    const timed = (): number => berth.berth.loadBalancers.responseTimes().get(webTg)?.count ?? 0;
    const before = {
      timed: timed(),
      counted: berth.berth.loadBalancers.requestCounts().get(webTg),
    };
    const socket = connect(listenerPort, "127.0.0.1");
    const received = await new Promise<string>((resolve, reject) => {
      let data = "";
      socket.on("data", (chunk: Buffer) => {
        data += chunk.toString();
        if (data.includes("101 Switching Protocols") && !data.includes(":HELLO"))
          socket.write("hello");
        if (data.includes(":HELLO")) resolve(data);
      });
      socket.on("error", reject);
      socket.write(
        `GET /ws HTTP/1.1\r\nHost: ${dnsName}\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n`,
      );
    });
    socket.destroy();
    assert.match(received, /HTTP\/1\.1 101 Switching Protocols/);
    assert.match(received, /[abc]:HELLO/);
    assert.equal(timed(), before.timed + 1);
    assert.equal(berth.berth.loadBalancers.requestCounts().get(webTg), (before.counted ?? 0) + 1);
  });

  it("takes an unhealthy target out, and fails open when all are unhealthy", async () => {
    const [a, b, c] = backends as [Backend, Backend, Backend];
    a.healthStatus = 500;
    await waitFor("a unhealthy", async () => {
      const d = (await health(webTg)).find((x) => x.Target?.Port === a.port);
      return d?.TargetHealth?.State === "unhealthy" ? d : undefined;
    }).then((d) => {
      assert.equal(d.TargetHealth?.Reason, "Target.ResponseCodeMismatch");
      assert.equal(d.TargetHealth?.Description, "Health checks failed with these codes: [500]");
    });
    const before = a.hits;
    for (let i = 0; i < 6; i++) assert.equal((await get("/")).status, 200);
    assert.equal(a.hits, before, "no request reaches the unhealthy target");

    b.healthStatus = 500;
    c.healthStatus = 500;
    await waitFor("all unhealthy", async () =>
      (await health(webTg)).every((d) => d.TargetHealth?.State === "unhealthy") ? true : undefined,
    );
    const hitsBefore = a.hits + b.hits + c.hits;
    for (let i = 0; i < 6; i++) assert.equal((await get("/")).status, 200);
    assert.equal(a.hits + b.hits + c.hits - hitsBefore, 6);
    assert.ok(a.hits > before, "failing open routes to every target");
    for (const backend of [a, b, c]) backend.healthStatus = 200;
    await waitFor("healthy again", async () =>
      (await health(webTg)).every((d) => d.TargetHealth?.State === "healthy") ? true : undefined,
    );
  });

  it("drains a deregistered target: its request in flight completes, new ones are not sent to it", async () => {
    await elb.send(
      new ModifyTargetGroupAttributesCommand({
        TargetGroupArn: apiTg,
        Attributes: [{ Key: "deregistration_delay.timeout_seconds", Value: "30" }],
      }),
    );
    const api = backends[3] as Backend;
    const slow = get("/api/slow");
    await waitFor("the slow request", async () => (api.release.length > 0 ? true : undefined));
    await elb.send(
      new DeregisterTargetsCommand({
        TargetGroupArn: apiTg,
        Targets: [{ Id: "127.0.0.1", Port: api.port }],
      }),
    );
    assert.equal(await statesOf(apiTg), `${api.port}:draining`);
    // Draining takes no new requests: the group has no other target, so 503.
    assert.equal((await get("/api/other")).status, 503);
    api.release.shift()?.();
    assert.deepEqual(await slow, { status: 200, body: "api slow" });
    // Its last request done, the target leaves at once rather than after the 30 s delay.
    await waitFor("deregistration complete", async () =>
      (await health(apiTg)).length === 0 ? true : undefined,
    );
  });

  it("answers 503 when a listener's port gets a request for a group with no targets", async () => {
    const answer = await get("/api/x");
    assert.equal(answer.status, 503);
    assert.match(answer.body, /503 Service Temporarily Unavailable/);
  });
});
