// A real `berth up` process driven by the Debian AWS CLI v2 and the AWS SDK v3.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import {
  DescribeClustersCommand,
  DescribeTaskDefinitionCommand,
  ECSClient,
  ListClustersCommand,
  RegisterTaskDefinitionCommand,
} from "@aws-sdk/client-ecs";
import {
  BERTH_BIN,
  startBerthProcess,
  tempDataDir,
  type BerthProcess,
  removeDataDir,
} from "../../src/testing/index.js";

const run = promisify(execFile);
/** The Debian awscli package's binary; an older `aws` may come first on PATH. */
const AWS = "/usr/bin/aws";

async function aws(berth: BerthProcess, args: string[], env: NodeJS.ProcessEnv = {}) {
  return run(AWS, ["--endpoint-url", berth.endpoint, "--output", "json", ...args], {
    env: { ...berth.awsEnv, ...env },
  });
}

async function awsFailure(
  berth: BerthProcess,
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<string> {
  try {
    await aws(berth, args, env);
  } catch (error) {
    return (error as { stderr: string }).stderr;
  }
  assert.fail("expected the aws command to fail");
}

describe("berth up with the AWS CLI and SDK", () => {
  let berth: BerthProcess;
  const dataDir = tempDataDir();

  before(async () => {
    berth = await startBerthProcess({ dataDir });
  });
  after(async () => {
    await berth.stop();
    removeDataDir(dataDir);
  });

  it("prints what a newcomer needs and keeps generated credentials", () => {
    const output = berth.output();
    assert.match(output, /Berth is up at http:\/\/127\.0\.0\.1:\d+/);
    assert.match(
      output,
      /aws --endpoint-url http:\/\/127\.0\.0\.1:\d+ ecs create-cluster --cluster-name demo/,
    );
    const kept = JSON.parse(readFileSync(join(dataDir, "credentials.json"), "utf8")) as {
      accessKeyId: string;
    };
    assert.equal(kept.accessKeyId, berth.credentials.accessKeyId);
    assert.equal(statSync(join(dataDir, "credentials.json")).mode & 0o777, 0o600);
  });

  it("answers health", async () => {
    const response = await fetch(`${berth.endpoint}/_berth/health`);
    assert.equal(response.status, 200);
  });

  it("creates a cluster with `aws ecs create-cluster`", async () => {
    const { stdout } = await aws(berth, ["ecs", "create-cluster", "--cluster-name", "demo"]);
    const created = JSON.parse(stdout) as { cluster: { clusterArn: string; status: string } };
    assert.equal(created.cluster.clusterArn, "arn:aws:ecs:us-east-1:000000000000:cluster/demo");
    assert.equal(created.cluster.status, "ACTIVE");
    const { stdout: listed } = await aws(berth, ["ecs", "list-clusters"]);
    assert.ok(
      (JSON.parse(listed) as { clusterArns: string[] }).clusterArns.includes(
        created.cluster.clusterArn,
      ),
    );
  });

  it("registers revisions 1 then 2 with the CLI", async () => {
    const args = [
      "ecs",
      "register-task-definition",
      "--family",
      "cli-web",
      "--requires-compatibilities",
      "FARGATE",
      "--network-mode",
      "awsvpc",
      "--cpu",
      "1 vCPU",
      "--memory",
      "2 GB",
      "--container-definitions",
      JSON.stringify([{ name: "app", image: "busybox", essential: true }]),
    ];
    const first = JSON.parse((await aws(berth, args)).stdout) as {
      taskDefinition: { revision: number; cpu: string; memory: string };
    };
    const second = JSON.parse((await aws(berth, args)).stdout) as {
      taskDefinition: { revision: number };
    };
    assert.equal(first.taskDefinition.revision, 1);
    assert.equal(second.taskDefinition.revision, 2);
    assert.equal(first.taskDefinition.cpu, "1024");
    assert.equal(first.taskDefinition.memory, "2048");
  });

  it("refuses an invalid Fargate size with the ECS message", async () => {
    const stderr = await awsFailure(berth, [
      "ecs",
      "register-task-definition",
      "--family",
      "bad",
      "--requires-compatibilities",
      "FARGATE",
      "--network-mode",
      "awsvpc",
      "--cpu",
      "256",
      "--memory",
      "4096",
      "--container-definitions",
      JSON.stringify([{ name: "app", image: "busybox" }]),
    ]);
    assert.match(
      stderr,
      /\(ClientException\) when calling the RegisterTaskDefinition operation: No Fargate configuration exists for given values\./,
    );
    const badCpu = await awsFailure(berth, [
      "ecs",
      "register-task-definition",
      "--family",
      "bad",
      "--requires-compatibilities",
      "FARGATE",
      "--network-mode",
      "awsvpc",
      "--cpu",
      "100",
      "--memory",
      "512",
      "--container-definitions",
      JSON.stringify([{ name: "app", image: "busybox" }]),
    ]);
    assert.match(
      badCpu,
      /\(ClientException\) when calling the RegisterTaskDefinition operation: Invalid 'cpu' setting for task\./,
    );
  });

  it("refuses a request signed with a wrong secret", async () => {
    const stderr = await awsFailure(berth, ["ecs", "list-clusters"], {
      AWS_SECRET_ACCESS_KEY: "not-the-secret",
    });
    assert.match(
      stderr,
      /\(InvalidSignatureException\) when calling the ListClusters operation: The request signature we calculated does not match/,
    );
    const unknown = await awsFailure(berth, ["ecs", "list-clusters"], {
      AWS_ACCESS_KEY_ID: "AKIANOTKNOWN0000000",
    });
    assert.match(unknown, /\(UnrecognizedClientException\)/);
  });

  it("keeps everything registered across a restart, and across kill -9", async () => {
    const sdk = new ECSClient(berth.clientConfig);
    await sdk.send(
      new RegisterTaskDefinitionCommand({
        family: "survivor",
        requiresCompatibilities: ["FARGATE"],
        cpu: "512",
        memory: "1024",
        networkMode: "awsvpc",
        containerDefinitions: [{ name: "app", image: "busybox" }],
        tags: [{ key: "team", value: "core" }],
      }),
    );
    sdk.destroy();
    // A clean stop (SIGTERM) and then a crash (SIGKILL): both keep what was accepted.
    await berth.stop();
    assert.equal(berth.process.exitCode, 0, "SIGTERM shuts down cleanly");
    berth = await startBerthProcess({ dataDir });
    berth = await berth.restart();

    const after = new ECSClient(berth.clientConfig);
    const { clusterArns = [] } = await after.send(new ListClustersCommand({}));
    assert.ok(clusterArns.some((arn) => arn.endsWith("/demo")));
    const described = await after.send(
      new DescribeTaskDefinitionCommand({ taskDefinition: "survivor", include: ["TAGS"] }),
    );
    assert.equal(described.taskDefinition?.revision, 1);
    assert.deepEqual(described.tags, [{ key: "team", value: "core" }]);
    const cli = await after.send(new DescribeTaskDefinitionCommand({ taskDefinition: "cli-web" }));
    assert.equal(cli.taskDefinition?.revision, 2);
    const { clusters = [] } = await after.send(
      new DescribeClustersCommand({ clusters: ["default"] }),
    );
    assert.equal(clusters[0]?.status, "ACTIVE");
    after.destroy();
    assert.ok(existsSync(join(dataDir, "berth.db")));
  });
});

describe("berth client commands", () => {
  it("reach a Berth through --endpoint with the kept credentials", async () => {
    const dataDir = tempDataDir();
    const berth = await startBerthProcess({ dataDir });
    try {
      const env = {
        ...process.env,
        BERTH_ACCESS_KEY_ID: "",
        BERTH_SECRET_ACCESS_KEY: "",
        AWS_ACCESS_KEY_ID: "",
        AWS_SECRET_ACCESS_KEY: "",
      };
      const { stdout } = await run(
        process.execPath,
        [BERTH_BIN, "clusters", "--endpoint", berth.endpoint, "--data-dir", dataDir],
        { env },
      );
      assert.match(stdout, /^default\s+ACTIVE/m);
      const status = await run(process.execPath, [BERTH_BIN, "status"], {
        env: {
          ...env,
          BERTH_ENDPOINT: berth.endpoint,
          BERTH_ACCESS_KEY_ID: berth.credentials.accessKeyId,
          BERTH_SECRET_ACCESS_KEY: berth.credentials.secretAccessKey,
        },
      });
      assert.match(status.stdout, /is up; 1 cluster\(s\)/);
    } finally {
      await berth.stop();
      removeDataDir(dataDir);
    }
  });

  it("explain what is wrong when no Berth answers", async () => {
    try {
      await run(process.execPath, [BERTH_BIN, "status", "--endpoint", "http://127.0.0.1:9"], {
        env: { ...process.env, BERTH_ACCESS_KEY_ID: "a", BERTH_SECRET_ACCESS_KEY: "b" },
      });
      assert.fail("expected berth status to fail");
    } catch (error) {
      const { code, stderr } = error as { code: number; stderr: string };
      assert.equal(code, 1);
      assert.match(stderr, /is not answering\. Start it with `npm run up`/);
    }
  });
});
