/** A listener kept in the store listens again when Berth restarts on the same data dir. */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  ElasticLoadBalancingV2Client,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import {
  freePort,
  startBerthInProcess,
  tempDataDir,
  removeDataDir,
} from "../../src/testing/index.js";

const dataDir = tempDataDir();
after(() => removeDataDir(dataDir));

describe("load balancers across a restart", () => {
  it("listen on their ports again", async () => {
    const port = await freePort();
    const first = await startBerthInProcess({ dataDir });
    const elb = new ElasticLoadBalancingV2Client(first.clientConfig);
    const { LoadBalancers } = await elb.send(new CreateLoadBalancerCommand({ Name: "kept" }));
    await elb.send(
      new CreateListenerCommand({
        Protocol: "HTTP",
        LoadBalancerArn: LoadBalancers?.[0]?.LoadBalancerArn,
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
    assert.equal(await (await fetch(`http://127.0.0.1:${port}/`)).text(), "up");
    elb.destroy();
    await first.stop();
    await assert.rejects(fetch(`http://127.0.0.1:${port}/`));

    const second = await startBerthInProcess({ dataDir });
    try {
      const answer = await fetch(`http://127.0.0.1:${port}/`);
      assert.equal(answer.status, 200);
      assert.equal(await answer.text(), "up");
    } finally {
      await second.stop();
    }
  });
});
