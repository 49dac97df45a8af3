/**
 * The EKS API (REST-JSON) and the Kubernetes API's front door against a started Berth: the
 * Debian AWS CLI and the SDK's EKS client manage clusters, Fargate profiles and tags;
 * `aws eks update-kubeconfig` + kubectl reach the cluster over TLS with Berth's CA; tokens that
 * are forged, expired or for another cluster get a Kubernetes 401 Status.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { statSync } from "node:fs";
import { request } from "node:https";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { Hash } from "@smithy/hash-node";
import { HttpRequest } from "@smithy/protocol-http";
import { SignatureV4 } from "@smithy/signature-v4";
import {
  CreateClusterCommand,
  DescribeClusterCommand,
  EKSClient,
  ListClustersCommand,
} from "@aws-sdk/client-eks";
import { awsCli, KUBECTL, startBerthInProcess, type TestBerth } from "../../src/testing/index.js";

const run = promisify(execFile);
const AWS = "/usr/bin/aws";

let berth: TestBerth;
let eks: EKSClient;
let kubeconfig: string;

async function aws(args: string[]): Promise<Record<string, unknown>> {
  return ((await awsCli(berth, args)) ?? {}) as Record<string, unknown>;
}

async function awsFailure(args: string[]): Promise<string> {
  try {
    await aws(args);
  } catch (error) {
    return (error as { stderr: string }).stderr.trim();
  }
  throw new Error(`aws ${args.join(" ")} succeeded`);
}

function kubectl(args: string[]) {
  return run(KUBECTL, args, { env: { ...berth.awsEnv, KUBECONFIG: kubeconfig } });
}

interface Cluster {
  endpoint: string;
  status: string;
  version: string;
  certificateAuthority: { data: string };
}

async function describeCluster(name: string): Promise<Cluster> {
  return (await aws(["eks", "describe-cluster", "--name", name])).cluster as Cluster;
}

/** A GET against the cluster's Kubernetes API with a bearer token, trusting only Berth's CA. */
function kubeGet(
  cluster: Cluster,
  path: string,
  token?: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const url = new URL(`${cluster.endpoint}${path}`);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        ca: Buffer.from(cluster.certificateAuthority.data, "base64"),
        headers: token === undefined ? {} : { Authorization: `Bearer ${token}` },
      },
      (res) => {
        let text = "";
        res.on("data", (c: Buffer) => (text += c.toString()));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            body: JSON.parse(text) as Record<string, unknown>,
          }),
        );
      },
    );
    req.on("error", reject);
    req.end();
  });
}

async function getToken(cluster: string): Promise<string> {
  const { stdout } = await run(AWS, ["eks", "get-token", "--cluster-name", cluster], {
    env: berth.awsEnv,
  });
  return (JSON.parse(stdout) as { status: { token: string } }).status.token;
}

/** A token as `aws eks get-token` makes it, signed at `signingDate` with `secret`. */
async function craftToken(cluster: string, signingDate: Date, secret: string): Promise<string> {
  const signer = new SignatureV4({
    credentials: { accessKeyId: berth.credentials.accessKeyId, secretAccessKey: secret },
    region: "us-east-1",
    service: "sts",
    sha256: Hash.bind(null, "sha256"),
  });
  const presigned = await signer.presign(
    new HttpRequest({
      method: "GET",
      protocol: "https:",
      hostname: "sts.us-east-1.amazonaws.com",
      path: "/",
      query: { Action: "GetCallerIdentity", Version: "2011-06-15" },
      headers: { host: "sts.us-east-1.amazonaws.com", "x-k8s-aws-id": cluster },
    }),
    { signingDate, expiresIn: 60 },
  );
  const query = new URLSearchParams(presigned.query as Record<string, string>).toString();
  const url = `https://sts.us-east-1.amazonaws.com/?${query}`;
  return `k8s-aws-v1.${Buffer.from(url).toString("base64url")}`;
}

before(async () => {
  berth = await startBerthInProcess();
  eks = new EKSClient({
    endpoint: berth.endpoint,
    region: "us-east-1",
    credentials: berth.credentials,
  });
  kubeconfig = join(berth.dataDir, "kubeconfig-test");
});

after(async () => {
  eks.destroy();
  await berth.stop();
});

describe("EKS API", () => {
  it("creates a cluster with the AWS CLI, and its ECS cluster of the same name", async () => {
    const created = (
      await aws([
        "eks",
        "create-cluster",
        "--name",
        "demo",
        "--role-arn",
        "arn:aws:iam::000000000000:role/eks",
        "--resources-vpc-config",
        "subnetIds=subnet-a,subnet-b",
        "--tags",
        "team=web",
      ])
    ).cluster as Record<string, unknown>;
    assert.equal(created.name, "demo");
    assert.equal(created.arn, "arn:aws:eks:us-east-1:000000000000:cluster/demo");
    assert.equal(created.status, "CREATING");
    assert.deepEqual(created.tags, { team: "web" });
    const cluster = await describeCluster("demo");
    assert.equal(cluster.status, "ACTIVE");
    assert.equal(cluster.version, "1.32");
    assert.match(cluster.endpoint, /^https:\/\/127\.0\.0\.1:\d+\/clusters\/demo$/);
    assert.match(
      Buffer.from(cluster.certificateAuthority.data, "base64").toString(),
      /^-----BEGIN CERTIFICATE-----/,
    );
    // The CA's key is root's alone.
    assert.equal(statSync(join(berth.dataDir, "pki", "ca.key")).mode & 0o777, 0o600);
    assert.equal(statSync(join(berth.dataDir, "pki")).mode & 0o777, 0o700);
    const ecs = await aws(["ecs", "describe-clusters", "--clusters", "demo"]);
    assert.equal((ecs.clusters as { status: string }[])[0]?.status, "ACTIVE");
  });

  it("lists, and answers EKS's errors with their statuses", async () => {
    assert.deepEqual((await aws(["eks", "list-clusters"])).clusters, ["demo"]);
    const missing = await awsFailure(["eks", "describe-cluster", "--name", "nope"]);
    assert.match(missing, /ResourceNotFoundException.*No cluster found for name: nope\./);
    const twice = await awsFailure([
      "eks",
      "create-cluster",
      "--name",
      "demo",
      "--role-arn",
      "arn:aws:iam::000000000000:role/eks",
      "--resources-vpc-config",
      "subnetIds=subnet-a",
    ]);
    assert.match(twice, /ResourceInUseException/);
    // Through the SDK: the status and code of a modelled error; a missing required member.
    await assert.rejects(eks.send(new DescribeClusterCommand({ name: "nope" })), (error: Error) => {
      assert.equal(error.name, "ResourceNotFoundException");
      assert.equal(
        (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode,
        404,
      );
      return true;
    });
    await assert.rejects(
      eks.send(new CreateClusterCommand({ name: "x", roleArn: "r" } as never)),
      (error: Error) => {
        assert.equal(error.name, "InvalidParameterException");
        assert.match(error.message, /resourcesVpcConfig/);
        return true;
      },
    );
    const listed = await eks.send(new ListClustersCommand({}));
    assert.deepEqual(listed.clusters, ["demo"]);
  });

  it("refuses an unsigned or wrongly signed request", async () => {
    const unsigned = await fetch(`${berth.endpoint}/clusters`);
    assert.equal(unsigned.status, 403);
    assert.equal(unsigned.headers.get("x-amzn-errortype"), "MissingAuthenticationTokenException");
    const forged = new EKSClient({
      endpoint: berth.endpoint,
      region: "us-east-1",
      credentials: { accessKeyId: berth.credentials.accessKeyId, secretAccessKey: "wrong" },
    });
    await assert.rejects(forged.send(new ListClustersCommand({})), /signature/i);
    forged.destroy();
  });

  it("manages Fargate profiles and tags", async () => {
    const created = (
      await aws([
        "eks",
        "create-fargate-profile",
        "--cluster-name",
        "demo",
        "--fargate-profile-name",
        "apps",
        "--pod-execution-role-arn",
        "arn:aws:iam::000000000000:role/pods",
        "--selectors",
        '[{"namespace":"default","labels":{"tier":"web"}},{"namespace":"jobs"}]',
      ])
    ).fargateProfile as Record<string, unknown>;
    assert.equal(created.status, "CREATING");
    assert.match(
      String(created.fargateProfileArn),
      /^arn:aws:eks:us-east-1:000000000000:fargateprofile\/demo\/apps\/[0-9a-f-]{36}$/,
    );
    const described = (
      await aws([
        "eks",
        "describe-fargate-profile",
        "--cluster-name",
        "demo",
        "--fargate-profile-name",
        "apps",
      ])
    ).fargateProfile as Record<string, unknown>;
    assert.equal(described.status, "ACTIVE");
    assert.deepEqual(described.selectors, [
      { namespace: "default", labels: { tier: "web" } },
      { namespace: "jobs" },
    ]);
    assert.deepEqual(
      (await aws(["eks", "list-fargate-profiles", "--cluster-name", "demo"])).fargateProfileNames,
      ["apps"],
    );
    const noSelector = await awsFailure([
      "eks",
      "create-fargate-profile",
      "--cluster-name",
      "demo",
      "--fargate-profile-name",
      "empty",
      "--pod-execution-role-arn",
      "arn:aws:iam::000000000000:role/pods",
    ]);
    assert.match(noSelector, /InvalidParameterException/);

    const arn = String(created.fargateProfileArn);
    await aws(["eks", "tag-resource", "--resource-arn", arn, "--tags", "a=1,b=2"]);
    await aws(["eks", "untag-resource", "--resource-arn", arn, "--tag-keys", "a"]);
    assert.deepEqual((await aws(["eks", "list-tags-for-resource", "--resource-arn", arn])).tags, {
      b: "2",
    });
    const reserved = await awsFailure([
      "eks",
      "tag-resource",
      "--resource-arn",
      arn,
      "--tags",
      "aws:x=1",
    ]);
    assert.match(reserved, /BadRequestException/);
    const gone = await awsFailure([
      "eks",
      "list-tags-for-resource",
      "--resource-arn",
      "arn:aws:eks:us-east-1:000000000000:cluster/nope",
    ]);
    assert.match(gone, /NotFoundException/);

    // A cluster with a profile cannot be deleted; the profile goes first.
    assert.match(
      await awsFailure(["eks", "delete-cluster", "--name", "demo"]),
      /ResourceInUseException/,
    );
    const deleted = (
      await aws([
        "eks",
        "delete-fargate-profile",
        "--cluster-name",
        "demo",
        "--fargate-profile-name",
        "apps",
      ])
    ).fargateProfile as Record<string, unknown>;
    assert.equal(deleted.status, "DELETING");
    assert.deepEqual(
      (await aws(["eks", "list-fargate-profiles", "--cluster-name", "demo"])).fargateProfileNames,
      [],
    );
  });
});

describe("Kubernetes front door", () => {
  it("update-kubeconfig, then kubectl reaches the cluster over TLS with Berth's CA", async () => {
    const { stdout: added } = await run(
      AWS,
      [
        "--endpoint-url",
        berth.endpoint,
        "eks",
        "update-kubeconfig",
        "--name",
        "demo",
        "--kubeconfig",
        kubeconfig,
      ],
      { env: berth.awsEnv },
    );
    assert.match(added, /Added new context arn:aws:eks:us-east-1:000000000000:cluster\/demo/);
    const { stdout: version } = await kubectl(["version", "-o", "json"]);
    assert.equal(
      (JSON.parse(version) as { serverVersion: { minor: string } }).serverVersion.minor,
      "32",
    );
    const { stdout } = await kubectl(["get", "namespaces", "-o", "name"]);
    assert.deepEqual(stdout.trim().split("\n").sort(), [
      "namespace/default",
      "namespace/kube-node-lease",
      "namespace/kube-public",
      "namespace/kube-system",
    ]);
  });

  it("answers a good token, and 401 Status to a missing, forged, expired or other cluster's token", async () => {
    const cluster = await describeCluster("demo");
    const good = await kubeGet(cluster, "/api/v1/namespaces/default", await getToken("demo"));
    assert.equal(good.status, 200);
    assert.equal(good.body.kind, "Namespace");

    const unauthorized = (answer: { status: number; body: Record<string, unknown> }) => {
      assert.equal(answer.status, 401);
      assert.equal(answer.body.kind, "Status");
      assert.equal(answer.body.reason, "Unauthorized");
    };
    unauthorized(await kubeGet(cluster, "/api/v1/namespaces"));
    unauthorized(await kubeGet(cluster, "/api/v1/namespaces", "k8s-aws-v1.bm90IGEgdXJs"));
    unauthorized(await kubeGet(cluster, "/api/v1/namespaces", await getToken("other")));
    unauthorized(
      await kubeGet(
        cluster,
        "/api/v1/namespaces",
        await craftToken("demo", new Date(), "wrong-secret"),
      ),
    );
    const fresh = await craftToken("demo", new Date(), berth.credentials.secretAccessKey);
    assert.equal((await kubeGet(cluster, "/api/v1/namespaces", fresh)).status, 200);
    // EKS accepts a token for 15 minutes after signing.
    const stale = await craftToken(
      "demo",
      new Date(Date.now() - 16 * 60 * 1000),
      berth.credentials.secretAccessKey,
    );
    unauthorized(await kubeGet(cluster, "/api/v1/namespaces", stale));
    // /version is public, as on EKS.
    assert.equal((await kubeGet(cluster, "/version")).body.minor, "32");
  });
});
