/**
 * A signature must cover what decides the request (issue 12, item 14): a captured request whose
 * signature left out X-Amz-Target, or signed UNSIGNED-PAYLOAD, cannot be replayed against a
 * running Berth as another action or with another body. The AWS CLI and SDK still work.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";
import { Hash } from "@smithy/hash-node";
import { HttpRequest } from "@smithy/protocol-http";
import { SignatureV4 } from "@smithy/signature-v4";
import { CreateClusterCommand, DescribeClustersCommand, ECSClient } from "@aws-sdk/client-ecs";
import { startBerthInProcess, type TestBerth } from "../../../src/testing/index.js";

const run = promisify(execFile);
const PREFIX = "AmazonEC2ContainerServiceV20141113";

let berth: TestBerth;
let ecs: ECSClient;

before(async () => {
  berth = await startBerthInProcess();
  ecs = new ECSClient(berth.clientConfig);
  await ecs.send(new CreateClusterCommand({ clusterName: "victim" }));
});
after(async () => {
  ecs.destroy();
  await berth.stop();
});

/** Signs a POST to Berth with exactly `headers` (plus host and x-amz-date). */
async function sign(headers: Record<string, string>, body: string) {
  const url = new URL(berth.endpoint);
  const signer = new SignatureV4({
    credentials: berth.credentials,
    region: berth.region,
    service: "ecs",
    sha256: Hash.bind(null, "sha256"),
  });
  const request = await signer.sign(
    new HttpRequest({
      method: "POST",
      hostname: url.hostname,
      port: Number(url.port),
      path: "/",
      headers: { host: url.host, "content-type": "application/x-amz-json-1.1", ...headers },
      body,
    }),
  );
  return request.headers;
}

async function send(headers: Record<string, string>, body: string) {
  const response = await fetch(berth.endpoint, { method: "POST", headers, body });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function victimStatus(): Promise<string | undefined> {
  const { clusters = [] } = await ecs.send(new DescribeClustersCommand({ clusters: ["victim"] }));
  return clusters[0]?.status;
}

describe("replaying a captured signed request", () => {
  it("refuses DescribeClusters replayed as DeleteCluster when the target was not signed", async () => {
    // Both actions read this body: DescribeClusters its `clusters`, DeleteCluster its `cluster`.
    const body = JSON.stringify({ clusters: ["victim"], cluster: "victim" });
    const captured = await sign({}, body);
    const original = await send(
      { ...captured, "x-amz-target": `${PREFIX}.DescribeClusters` },
      body,
    );
    assert.equal(original.status, 400, "an unsigned target is refused even as sent");
    const replay = await send({ ...captured, "x-amz-target": `${PREFIX}.DeleteCluster` }, body);
    assert.equal(replay.status, 400);
    assert.equal(replay.body.__type, "InvalidSignatureException");
    assert.equal(await victimStatus(), "ACTIVE");
  });

  it("refuses an UNSIGNED-PAYLOAD request whose body was swapped", async () => {
    const target = `${PREFIX}.DeleteCluster`;
    const captured = await sign(
      { "x-amz-target": target, "x-amz-content-sha256": "UNSIGNED-PAYLOAD" },
      JSON.stringify({ cluster: "nothing-here" }),
    );
    const replay = await send(captured, JSON.stringify({ cluster: "victim" }));
    assert.equal(replay.status, 400);
    assert.equal(replay.body.__type, "InvalidSignatureException");
    assert.equal(await victimStatus(), "ACTIVE");
  });

  it("still serves a request signed as the AWS SDK and the AWS CLI sign it", async () => {
    const body = JSON.stringify({ clusters: ["victim"] });
    const headers = await sign({ "x-amz-target": `${PREFIX}.DescribeClusters` }, body);
    const answer = await send(headers, body);
    assert.equal(answer.status, 200);
    const { stdout } = await run(
      "/usr/bin/aws",
      ["ecs", "describe-clusters", "--clusters", "victim", "--endpoint-url", berth.endpoint],
      { env: berth.awsEnv },
    );
    assert.equal(
      (JSON.parse(stdout) as { clusters: Array<{ status: string }> }).clusters[0]?.status,
      "ACTIVE",
    );
  });
});
