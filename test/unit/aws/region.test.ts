/**
 * A request signed for another region is refused as AWS refuses it (issue 13 #21), on the JSON
 * and the Query protocol, through the AWS SDK and the AWS CLI; the Berth's own region works.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";
import { ECSClient, ListClustersCommand } from "@aws-sdk/client-ecs";
import {
  DescribeLoadBalancersCommand,
  ElasticLoadBalancingV2Client,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { startBerthInProcess, type TestBerth } from "../../../src/testing/index.js";

const run = promisify(execFile);
const TEXT = "Credential should be scoped to a valid region, not 'us-west-2'. ";

let berth: TestBerth;
before(async () => {
  berth = await startBerthInProcess();
});
after(async () => {
  await berth.stop();
});

async function failure(promise: Promise<unknown>) {
  try {
    await promise;
  } catch (error) {
    const e = error as { name: string; message: string; $metadata?: { httpStatusCode?: number } };
    return { name: e.name, message: e.message, status: e.$metadata?.httpStatusCode };
  }
  return assert.fail("expected the call to be refused");
}

describe("the signing region", () => {
  it("refuses another region on the JSON protocol, serves its own", async () => {
    const west = new ECSClient({ ...berth.clientConfig, region: "us-west-2" });
    assert.deepEqual(await failure(west.send(new ListClustersCommand({}))), {
      name: "InvalidSignatureException",
      message: TEXT,
      status: 400,
    });
    west.destroy();
    const own = new ECSClient(berth.clientConfig);
    const { clusterArns = [] } = await own.send(new ListClustersCommand({}));
    assert.ok(clusterArns[0]?.startsWith("arn:aws:ecs:us-east-1:"));
    own.destroy();
  });

  it("refuses another region on the Query protocol with its own code", async () => {
    const west = new ElasticLoadBalancingV2Client({ ...berth.clientConfig, region: "us-west-2" });
    assert.deepEqual(await failure(west.send(new DescribeLoadBalancersCommand({}))), {
      name: "SignatureDoesNotMatch",
      message: TEXT,
      status: 403,
    });
    west.destroy();
  });

  it("the AWS CLI hears the same", async () => {
    const refused = await run(
      "/usr/bin/aws",
      ["--endpoint-url", berth.endpoint, "--region", "us-west-2", "ecs", "list-clusters"],
      { env: berth.awsEnv },
    ).then(
      () => assert.fail("expected the AWS CLI to fail"),
      (error: { stderr: string }) => error.stderr,
    );
    assert.match(refused, /InvalidSignatureException/);
    assert.ok(refused.includes(TEXT.trim()), refused);
  });
});
