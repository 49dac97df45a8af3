/**
 * STS through the real clients: a user allowed only sts:AssumeRole assumes a role its trust
 * policy names (the AWS CLI), and with the session's key, secret and token calls what the role
 * allows and is refused the rest as `assumed-role/ROLE/SESSION`; a session key without its
 * token, or with another, is refused; once the session expires (the server's clock moved on an
 * hour) the SDK's signed request is refused with ExpiredTokenException. Root may not assume.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { ECSClient, ListClustersCommand } from "@aws-sdk/client-ecs";
import { STSClient, GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { startBerthInProcess, type TestBerth } from "../../src/testing/index.js";

const run = promisify(execFile);
const AWS = "/usr/bin/aws";
const ACCOUNT = "000000000000";
const ROLE = `arn:aws:iam::${ACCOUNT}:role/reader`;

/** The server's clock: real time plus an offset the test moves. */
let offsetMs = 0;
let berth: TestBerth;
let bob: NodeJS.ProcessEnv;

async function aws(args: string[], env: NodeJS.ProcessEnv = berth.awsEnv) {
  const { stdout } = await run(
    AWS,
    ["--endpoint-url", berth.endpoint, "--output", "json", ...args],
    { env },
  );
  return stdout.trim() === "" ? {} : (JSON.parse(stdout) as Record<string, unknown>);
}

async function awsFailure(args: string[], env: NodeJS.ProcessEnv = berth.awsEnv): Promise<string> {
  try {
    await aws(args, env);
  } catch (error) {
    return (error as { stderr: string }).stderr.trim();
  }
  throw new Error(`aws ${args.join(" ")} succeeded`);
}

async function userWithPolicy(name: string, statement: object): Promise<NodeJS.ProcessEnv> {
  await aws(["iam", "create-user", "--user-name", name]);
  const key = (await aws(["iam", "create-access-key", "--user-name", name])) as {
    AccessKey: { AccessKeyId: string; SecretAccessKey: string };
  };
  await aws([
    "iam",
    "put-user-policy",
    "--user-name",
    name,
    "--policy-name",
    "assume",
    "--policy-document",
    JSON.stringify({ Version: "2012-10-17", Statement: [statement] }),
  ]);
  return {
    ...berth.awsEnv,
    AWS_ACCESS_KEY_ID: key.AccessKey.AccessKeyId,
    AWS_SECRET_ACCESS_KEY: key.AccessKey.SecretAccessKey,
  };
}

interface SessionCredentials {
  AccessKeyId: string;
  SecretAccessKey: string;
  SessionToken: string;
  Expiration: string;
}

describe("STS: caller identity and role sessions", { timeout: 300_000 }, () => {
  before(async () => {
    berth = await startBerthInProcess({ clock: { now: () => new Date(Date.now() + offsetMs) } });
    const assume = { Effect: "Allow", Action: "sts:AssumeRole", Resource: ROLE };
    bob = await userWithPolicy("bob", assume);
    await aws([
      "iam",
      "create-role",
      "--role-name",
      "reader",
      "--assume-role-policy-document",
      JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          {
            Effect: "Allow",
            Principal: { AWS: `arn:aws:iam::${ACCOUNT}:user/bob` },
            Action: "sts:AssumeRole",
          },
        ],
      }),
    ]);
    await aws([
      "iam",
      "put-role-policy",
      "--role-name",
      "reader",
      "--policy-name",
      "list",
      "--policy-document",
      JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Action: "ecs:ListClusters", Resource: "*" }],
      }),
    ]);
  });
  after(async () => {
    await berth?.stop();
  });

  it("GetCallerIdentity names root, and the user", async () => {
    const root = (await aws(["sts", "get-caller-identity"])) as Record<string, string>;
    assert.deepEqual(root, {
      UserId: ACCOUNT,
      Account: ACCOUNT,
      Arn: `arn:aws:iam::${ACCOUNT}:root`,
    });
    const user = (await aws(["sts", "get-caller-identity"], bob)) as Record<string, string>;
    assert.equal(user.Arn, `arn:aws:iam::${ACCOUNT}:user/bob`);
    assert.match(user.UserId ?? "", /^AIDA/);
  });

  it("AssumeRole gives a session that can do what the role allows and nothing more", async () => {
    const assumed = (await aws(
      ["sts", "assume-role", "--role-arn", ROLE, "--role-session-name", "s1"],
      bob,
    )) as {
      Credentials: SessionCredentials;
      AssumedRoleUser: { Arn: string; AssumedRoleId: string };
    };
    const { Credentials: creds } = assumed;
    assert.match(creds.AccessKeyId, /^ASIA[A-Z2-7]{16}$/);
    assert.ok(creds.SessionToken.length > 100);
    const lifetime = new Date(creds.Expiration).getTime() - Date.now();
    assert.ok(lifetime > 3500_000 && lifetime <= 3600_000, `lifetime ${lifetime}`);
    assert.equal(assumed.AssumedRoleUser.Arn, `arn:aws:sts::${ACCOUNT}:assumed-role/reader/s1`);
    assert.match(assumed.AssumedRoleUser.AssumedRoleId, /^AROA[A-Z2-7]{17}:s1$/);

    const session = {
      ...berth.awsEnv,
      AWS_ACCESS_KEY_ID: creds.AccessKeyId,
      AWS_SECRET_ACCESS_KEY: creds.SecretAccessKey,
      AWS_SESSION_TOKEN: creds.SessionToken,
    };
    const me = (await aws(["sts", "get-caller-identity"], session)) as Record<string, string>;
    assert.equal(me.Arn, `arn:aws:sts::${ACCOUNT}:assumed-role/reader/s1`);
    const clusters = (await aws(["ecs", "list-clusters"], session)) as { clusterArns: string[] };
    assert.deepEqual(clusters.clusterArns, [`arn:aws:ecs:us-east-1:${ACCOUNT}:cluster/default`]);
    assert.equal(
      await awsFailure(["ecs", "create-cluster", "--cluster-name", "x"], session),
      "An error occurred (AccessDeniedException) when calling the CreateCluster operation: " +
        `User: arn:aws:sts::${ACCOUNT}:assumed-role/reader/s1 is not authorized to perform: ecs:CreateCluster ` +
        `on resource: arn:aws:ecs:us-east-1:${ACCOUNT}:cluster/x because no identity-based policy allows the ecs:CreateCluster action`,
    );

    // The key without its token, or with another's, is no key at all.
    const tokenless: NodeJS.ProcessEnv = { ...session };
    delete tokenless.AWS_SESSION_TOKEN;
    assert.match(
      await awsFailure(["ecs", "list-clusters"], tokenless),
      /\(UnrecognizedClientException\).*The security token included in the request is invalid\./,
    );
    assert.match(
      await awsFailure(["ecs", "list-clusters"], {
        ...session,
        AWS_SESSION_TOKEN: creds.SessionToken.slice(0, -4) + "AAAA",
      }),
      /UnrecognizedClientException/,
    );

    // An hour later (the server's clock; the SDK signs on it too) the token is expired.
    offsetMs = 3601_000;
    const credentials = {
      accessKeyId: creds.AccessKeyId,
      secretAccessKey: creds.SecretAccessKey,
      sessionToken: creds.SessionToken,
    };
    const ecs = new ECSClient({ ...berth.clientConfig, credentials, systemClockOffset: offsetMs });
    const sts = new STSClient({ ...berth.clientConfig, credentials, systemClockOffset: offsetMs });
    try {
      await assert.rejects(ecs.send(new ListClustersCommand({})), (error: Error) => {
        assert.equal(error.name, "ExpiredTokenException");
        assert.equal(error.message, "The security token included in the request is expired");
        return true;
      });
      await assert.rejects(sts.send(new GetCallerIdentityCommand({})), (error: Error) => {
        assert.equal(error.name, "ExpiredToken");
        return true;
      });
    } finally {
      offsetMs = 0;
      ecs.destroy();
      sts.destroy();
    }
  });

  it("refuses root, callers the trust does not name, and bad durations", async () => {
    assert.match(
      await awsFailure(["sts", "assume-role", "--role-arn", ROLE, "--role-session-name", "root-try"]),
      /\(AccessDenied\).*Roles may not be assumed by root accounts\./,
    );
    const carol = await userWithPolicy("carol", {
      Effect: "Allow",
      Action: "sts:AssumeRole",
      Resource: "*",
    });
    assert.equal(
      await awsFailure(
        ["sts", "assume-role", "--role-arn", ROLE, "--role-session-name", "carol-try"],
        carol,
      ),
      "An error occurred (AccessDenied) when calling the AssumeRole operation: " +
        `User: arn:aws:iam::${ACCOUNT}:user/carol is not authorized to perform: sts:AssumeRole on resource: ${ROLE} ` +
        "because no resource-based policy allows the sts:AssumeRole action",
    );
    assert.match(
      await awsFailure(
        [
          "sts",
          "assume-role",
          "--role-arn",
          ROLE,
          "--role-session-name",
          "long",
          "--duration-seconds",
          "7200",
        ],
        bob,
      ),
      /\(ValidationError\).*exceeds the MaxSessionDuration set for this role\./,
    );
  });
});
