/**
 * A target's machine dies (issue 15, item 6): it refuses nothing, it just never answers, so a
 * request to it hangs. Two of three targets live on a "machine" (a network namespace of this
 * test's own) whose traffic is then dropped: a client that retries a failed request once must
 * never fail, which round robin alone cannot give (the retry may land on the other dead target
 * before the health checks fail). What is asserted is answers, never time.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateTargetGroupCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  RegisterTargetsCommand,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { runCommand } from "../../src/agent/index.js";
import {
  freeDatacenterOctet,
  startBerthInProcess,
  until,
  type TestBerth,
} from "../../src/testing/index.js";

const tag = randomBytes(3).toString("hex");
const netns = `berth-dead-${tag}`;
const outside = `bdo${tag}`;
let subnet = "";
let berth: TestBerth;
let elb: ElasticLoadBalancingV2Client;
let live: Server;
let doomed: ChildProcess | undefined;
let listenerPort = 0;

/** Answers its own name on two ports, the dead machine's two targets. */
const DOOMED_SERVER = `
const http = require("node:http");
for (const port of [8080, 8081])
  http.createServer((_q, s) => s.end("doomed-" + port)).listen(port, process.argv[1]);
`;

async function get(): Promise<{ ok: boolean; body: string }> {
  const answer = await fetch(`http://127.0.0.1:${listenerPort}/`, {
    signal: AbortSignal.timeout(3_000),
  }).catch(() => undefined);
  if (answer === undefined) return { ok: false, body: "" };
  return { ok: answer.status === 200, body: await answer.text().catch(() => "") };
}

before(async () => {
  subnet = `100.127.${await freeDatacenterOctet()}`;
  await runCommand("ip", ["netns", "add", netns]);
  await runCommand("ip", [
    "link",
    "add",
    outside,
    "type",
    "veth",
    "peer",
    "name",
    "eth0",
    "netns",
    netns,
  ]);
  await runCommand("ip", ["addr", "add", `${subnet}.1/24`, "dev", outside]);
  await runCommand("ip", ["link", "set", outside, "up"]);
  for (const args of [
    ["addr", "add", `${subnet}.2/24`, "dev", "eth0"],
    ["link", "set", "eth0", "up"],
    ["link", "set", "lo", "up"],
  ])
    await runCommand("ip", ["-n", netns, ...args]);
  doomed = spawn(
    "ip",
    ["netns", "exec", netns, process.execPath, "-e", DOOMED_SERVER, `${subnet}.2`],
    {
      stdio: "ignore",
    },
  );
  live = createServer((_q, s) => s.end("live"));
  await new Promise<void>((resolve) => live.listen(0, "127.0.0.1", resolve));
  berth = await startBerthInProcess({ elbTargetCidrs: ["127.0.0.1/32", `${subnet}.0/24`] });
  elb = new ElasticLoadBalancingV2Client(berth.clientConfig);
});

after(async () => {
  elb?.destroy();
  await berth?.stop();
  doomed?.kill("SIGKILL");
  await runCommand("ip", ["netns", "del", netns], { allowFailure: true });
  await runCommand("ip", ["link", "del", outside], { allowFailure: true });
  live?.closeAllConnections();
  await new Promise<void>((resolve) => live?.close(() => resolve()));
});

describe("a load balancer whose targets' machine dies", () => {
  it("loses no request that is retried once", async () => {
    const { LoadBalancers } = await elb.send(new CreateLoadBalancerCommand({ Name: "dead" }));
    const { TargetGroups } = await elb.send(
      new CreateTargetGroupCommand({
        Name: "dead",
        Protocol: "HTTP",
        Port: 80,
        TargetType: "ip",
        HealthCheckPath: "/",
        HealthCheckIntervalSeconds: 5,
        HealthCheckTimeoutSeconds: 2,
        HealthyThresholdCount: 2,
        UnhealthyThresholdCount: 2,
      }),
    );
    const group = TargetGroups?.[0]?.TargetGroupArn ?? "";
    listenerPort = 20_000 + (randomBytes(2).readUInt16BE() % 20_000);
    await elb.send(
      new CreateListenerCommand({
        Protocol: "HTTP",
        LoadBalancerArn: LoadBalancers?.[0]?.LoadBalancerArn,
        Port: listenerPort,
        DefaultActions: [{ Type: "forward", TargetGroupArn: group }],
      }),
    );
    await elb.send(
      new RegisterTargetsCommand({
        TargetGroupArn: group,
        Targets: [
          { Id: `${subnet}.2`, Port: 8080 },
          { Id: `${subnet}.2`, Port: 8081 },
          { Id: "127.0.0.1", Port: (live.address() as AddressInfo).port },
        ],
      }),
    );
    await until(
      "three healthy targets",
      async () =>
        (await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: group })))
          .TargetHealthDescriptions ?? [],
      (d) => d.length === 3 && d.every((t) => t.TargetHealth?.State === "healthy"),
      { timeoutMs: 60_000 },
    );
    // Every target answers, and the balancer holds kept-alive connections to the doomed two.
    const seen = new Set<string>();
    for (let i = 0; i < 9; i++) seen.add((await get()).body);
    assert.deepEqual([...seen].sort(), ["doomed-8080", "doomed-8081", "live"]);
    // The machine dies: everything sent to it is dropped, as a crashed host's network does.
    await runCommand("ip", ["netns", "exec", netns, "iptables", "-A", "INPUT", "-j", "DROP"]);
    let failures = 0;
    for (let i = 0; i < 6; i++) if (!(await get()).ok && !(await get()).ok) failures++;
    assert.equal(failures, 0, `${failures} of 6 requests failed after a retry`);
    const answers: string[] = [];
    for (let i = 0; i < 6; i++) answers.push((await get()).body);
    assert.deepEqual(answers, Array(6).fill("live"), "the dead machine's targets are out");
  });
});
