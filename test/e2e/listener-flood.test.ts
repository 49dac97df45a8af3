/**
 * A flood of idle connections at a load balancer listener (issue 12, item 5): one address's
 * connections past its share are closed at once, and the listener still serves other clients,
 * as does the API. What is asserted is connections closed and answers, never time.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  DescribeLoadBalancersCommand,
  ElasticLoadBalancingV2Client,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { balancerConnectionLimits } from "../../src/balancer/index.js";
import {
  floodPastLimit,
  freePort,
  startBerthInProcess,
  until,
  type Flood,
  type TestBerth,
} from "../../src/testing/index.js";

let berth: TestBerth;
let elb: ElasticLoadBalancingV2Client;
const floods: Flood[] = [];
before(async () => {
  berth = await startBerthInProcess();
  elb = new ElasticLoadBalancingV2Client(berth.clientConfig);
});
after(async () => {
  for (const flood of floods) flood.end();
  elb.destroy();
  await berth.stop();
});

async function get(port: number): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${port}/`);
  return `${response.status} ${await response.text()}`;
}

describe("a listener under a connection flood", () => {
  it("closes one address's surplus of idle connections and still serves others", async () => {
    const { LoadBalancers } = await elb.send(new CreateLoadBalancerCommand({ Name: "flooded" }));
    const port = await freePort();
    await elb.send(
      new CreateListenerCommand({
        LoadBalancerArn: LoadBalancers?.[0]?.LoadBalancerArn,
        Protocol: "HTTP",
        Port: port,
        DefaultActions: [
          {
            Type: "fixed-response",
            FixedResponseConfig: {
              StatusCode: "200",
              ContentType: "text/plain",
              MessageBody: "up",
            },
          },
        ],
      }),
    );
    await until(
      "the listener serves",
      () => get(port).catch(String),
      (text) => text === "200 up",
      {
        timeoutMs: 30_000,
      },
    );
    floods.push(await floodPastLimit(port, balancerConnectionLimits().perAddress));
    assert.equal(await get(port), "200 up");
    const { LoadBalancers: described = [] } = await elb.send(
      new DescribeLoadBalancersCommand({ Names: ["flooded"] }),
    );
    assert.equal(described[0]?.LoadBalancerName, "flooded");
  });
});
