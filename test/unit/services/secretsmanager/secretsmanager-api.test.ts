/** Secrets Manager through the AWS SDK against an in-process Berth: semantics and AWS's errors. */
import assert from "node:assert/strict";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  ListSecretsCommand,
  PutSecretValueCommand,
  RestoreSecretCommand,
  SecretsManagerClient,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateSecretCommand,
  UpdateSecretVersionStageCommand,
} from "@aws-sdk/client-secrets-manager";
import { startBerthInProcess, type TestBerth, rejectsWith } from "../../../../src/testing/index.js";

let berth: TestBerth;
let client: SecretsManagerClient;

before(async () => {
  berth = await startBerthInProcess();
  client = new SecretsManagerClient(berth.clientConfig);
});
after(async () => {
  client.destroy();
  await berth.stop();
});

const NOT_FOUND = "Secrets Manager can't find the specified secret.";

describe("secrets", () => {
  it("CreateSecret makes an ARN with a six-character suffix and an AWSCURRENT version", async () => {
    const created = await client.send(
      new CreateSecretCommand({ Name: "prod/db", SecretString: "s3cr3t-one", Description: "db" }),
    );
    assert.match(
      created.ARN ?? "",
      /^arn:aws:secretsmanager:us-east-1:\d{12}:secret:prod\/db-[A-Za-z0-9]{6}$/,
    );
    assert.ok(created.VersionId);
    const got = await client.send(new GetSecretValueCommand({ SecretId: "prod/db" }));
    assert.equal(got.SecretString, "s3cr3t-one");
    assert.deepEqual(got.VersionStages, ["AWSCURRENT"]);
    assert.equal(got.VersionId, created.VersionId);
    // By full ARN and by the ARN without its suffix.
    const byArn = await client.send(new GetSecretValueCommand({ SecretId: created.ARN }));
    assert.equal(byArn.SecretString, "s3cr3t-one");
    const partial = (created.ARN ?? "").slice(0, -7);
    const byPartial = await client.send(new GetSecretValueCommand({ SecretId: partial }));
    assert.equal(byPartial.Name, "prod/db");
    await rejectsWith(
      client.send(new CreateSecretCommand({ Name: "prod/db", SecretString: "x" })),
      "ResourceExistsException",
      "The operation failed because the secret prod/db already exists.",
    );
  });

  it("an unknown secret, and an ARN with a wrong suffix, are not found", async () => {
    await rejectsWith(
      client.send(new GetSecretValueCommand({ SecretId: "nope" })),
      "ResourceNotFoundException",
      NOT_FOUND,
    );
    const { ARN } = await client.send(new DescribeSecretCommand({ SecretId: "prod/db" }));
    await rejectsWith(
      client.send(new GetSecretValueCommand({ SecretId: `${(ARN ?? "").slice(0, -6)}XXXXXX` })),
      "ResourceNotFoundException",
      NOT_FOUND,
    );
    await rejectsWith(
      client.send(
        new DescribeSecretCommand({
          SecretId: "arn:aws:secretsmanager:us-east-1:000000000000:secret:",
        }),
      ),
      "ResourceNotFoundException",
    );
  });

  it("PutSecretValue rotates: AWSCURRENT moves, the old one becomes AWSPREVIOUS", async () => {
    await client.send(new CreateSecretCommand({ Name: "rot", SecretString: "v1" }));
    const first = await client.send(new GetSecretValueCommand({ SecretId: "rot" }));
    const put = await client.send(
      new PutSecretValueCommand({ SecretId: "rot", SecretString: "v2" }),
    );
    assert.deepEqual(put.VersionStages, ["AWSCURRENT"]);
    assert.equal(
      (await client.send(new GetSecretValueCommand({ SecretId: "rot" }))).SecretString,
      "v2",
    );
    const previous = await client.send(
      new GetSecretValueCommand({ SecretId: "rot", VersionStage: "AWSPREVIOUS" }),
    );
    assert.equal(previous.SecretString, "v1");
    assert.equal(previous.VersionId, first.VersionId);
    const byId = await client.send(
      new GetSecretValueCommand({ SecretId: "rot", VersionId: first.VersionId }),
    );
    assert.equal(byId.SecretString, "v1");
    await client.send(new PutSecretValueCommand({ SecretId: "rot", SecretString: "v3" }));
    const versions = await client.send(new ListSecretVersionIdsCommand({ SecretId: "rot" }));
    // v1 lost its last label: deprecated, listed only when asked.
    assert.equal(versions.Versions?.length, 2);
    const all = await client.send(
      new ListSecretVersionIdsCommand({ SecretId: "rot", IncludeDeprecated: true }),
    );
    assert.equal(all.Versions?.length, 3);
    const oldest = (all.Versions ?? []).find((v) => v.VersionId === first.VersionId);
    assert.deepEqual(oldest?.VersionStages, []);
    const described = await client.send(new DescribeSecretCommand({ SecretId: "rot" }));
    assert.equal(Object.keys(described.VersionIdsToStages ?? {}).length, 2);
    await rejectsWith(
      client.send(new GetSecretValueCommand({ SecretId: "rot", VersionStage: "AWSPENDING" })),
      "ResourceNotFoundException",
      "Secrets Manager can't find the specified secret value for staging label: AWSPENDING",
    );
    await rejectsWith(
      client.send(
        new GetSecretValueCommand({
          SecretId: "rot",
          VersionId: "00000000-0000-0000-0000-000000000000",
        }),
      ),
      "ResourceNotFoundException",
      "Secrets Manager can't find the specified secret value for VersionId: 00000000-0000-0000-0000-000000000000",
    );
  });

  it("AWSPENDING staged by PutSecretValue, then moved to AWSCURRENT by UpdateSecretVersionStage", async () => {
    await client.send(new CreateSecretCommand({ Name: "pend", SecretString: "old" }));
    const current = await client.send(new GetSecretValueCommand({ SecretId: "pend" }));
    const token = "11111111-2222-3333-4444-555555555555";
    await client.send(
      new PutSecretValueCommand({
        SecretId: "pend",
        SecretString: "new",
        VersionStages: ["AWSPENDING"],
        ClientRequestToken: token,
      }),
    );
    assert.equal(
      (await client.send(new GetSecretValueCommand({ SecretId: "pend" }))).SecretString,
      "old",
    );
    assert.equal(
      (
        await client.send(
          new GetSecretValueCommand({ SecretId: "pend", VersionStage: "AWSPENDING" }),
        )
      ).SecretString,
      "new",
    );
    // The same token with the same value is a retry; with another value, an error.
    await client.send(
      new PutSecretValueCommand({
        SecretId: "pend",
        SecretString: "new",
        VersionStages: ["AWSPENDING"],
        ClientRequestToken: token,
      }),
    );
    await rejectsWith(
      client.send(
        new PutSecretValueCommand({
          SecretId: "pend",
          SecretString: "other",
          ClientRequestToken: token,
        }),
      ),
      "ResourceExistsException",
      "You can't modify an existing version, you can only create a new version.",
    );
    await rejectsWith(
      client.send(
        new UpdateSecretVersionStageCommand({
          SecretId: "pend",
          VersionStage: "AWSCURRENT",
          MoveToVersionId: token,
        }),
      ),
      "InvalidParameterException",
    );
    await client.send(
      new UpdateSecretVersionStageCommand({
        SecretId: "pend",
        VersionStage: "AWSCURRENT",
        MoveToVersionId: token,
        RemoveFromVersionId: current.VersionId,
      }),
    );
    const now = await client.send(new GetSecretValueCommand({ SecretId: "pend" }));
    assert.equal(now.SecretString, "new");
    assert.deepEqual([...(now.VersionStages ?? [])].sort(), ["AWSCURRENT", "AWSPENDING"]);
    const prev = await client.send(
      new GetSecretValueCommand({ SecretId: "pend", VersionStage: "AWSPREVIOUS" }),
    );
    assert.equal(prev.SecretString, "old");
  });

  it("binary secrets, a secret without a value, and UpdateSecret", async () => {
    await client.send(
      new CreateSecretCommand({ Name: "bin", SecretBinary: new Uint8Array([0, 1, 2, 255]) }),
    );
    const bin = await client.send(new GetSecretValueCommand({ SecretId: "bin" }));
    assert.deepEqual([...(bin.SecretBinary ?? [])], [0, 1, 2, 255]);
    assert.equal(bin.SecretString, undefined);
    const empty = await client.send(new CreateSecretCommand({ Name: "empty" }));
    assert.equal(empty.VersionId, undefined);
    await rejectsWith(
      client.send(new GetSecretValueCommand({ SecretId: "empty" })),
      "ResourceNotFoundException",
      "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT",
    );
    const updated = await client.send(
      new UpdateSecretCommand({ SecretId: "empty", SecretString: "now", Description: "d2" }),
    );
    assert.ok(updated.VersionId);
    assert.equal(
      (await client.send(new GetSecretValueCommand({ SecretId: "empty" }))).SecretString,
      "now",
    );
    assert.equal(
      (await client.send(new DescribeSecretCommand({ SecretId: "empty" }))).Description,
      "d2",
    );
    await rejectsWith(
      client.send(
        new CreateSecretCommand({
          Name: "both",
          SecretString: "a",
          SecretBinary: new Uint8Array([1]),
        }),
      ),
      "InvalidParameterException",
      "You can't specify both a binary secret value and a string secret value in the same secret.",
    );
  });

  it("DeleteSecret with a recovery window, RestoreSecret, and deletion without recovery", async () => {
    await client.send(new CreateSecretCommand({ Name: "del", SecretString: "x" }));
    await rejectsWith(
      client.send(new DeleteSecretCommand({ SecretId: "del", RecoveryWindowInDays: 3 })),
      "InvalidParameterException",
      "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).",
    );
    await rejectsWith(
      client.send(
        new DeleteSecretCommand({
          SecretId: "del",
          RecoveryWindowInDays: 7,
          ForceDeleteWithoutRecovery: true,
        }),
      ),
      "InvalidParameterException",
      "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.",
    );
    const before = Date.now();
    const deleted = await client.send(
      new DeleteSecretCommand({ SecretId: "del", RecoveryWindowInDays: 7 }),
    );
    const days = ((deleted.DeletionDate?.getTime() ?? 0) - before) / 86_400_000;
    assert.ok(days > 6.99 && days < 7.01, `deletion in ${days} days`);
    const marked =
      "You can't perform this operation on the secret because it was marked for deletion.";
    await rejectsWith(
      client.send(new GetSecretValueCommand({ SecretId: "del" })),
      "InvalidRequestException",
      marked,
    );
    await rejectsWith(
      client.send(new PutSecretValueCommand({ SecretId: "del", SecretString: "y" })),
      "InvalidRequestException",
      marked,
    );
    await rejectsWith(
      client.send(new CreateSecretCommand({ Name: "del", SecretString: "z" })),
      "InvalidRequestException",
      "You can't create this secret because a secret with this name is already scheduled for deletion.",
    );
    assert.ok((await client.send(new DescribeSecretCommand({ SecretId: "del" }))).DeletedDate);
    const listed = await client.send(new ListSecretsCommand({}));
    assert.ok(!(listed.SecretList ?? []).some((s) => s.Name === "del"));
    const planned = await client.send(new ListSecretsCommand({ IncludePlannedDeletion: true }));
    assert.ok((planned.SecretList ?? []).some((s) => s.Name === "del"));
    await client.send(new RestoreSecretCommand({ SecretId: "del" }));
    assert.equal(
      (await client.send(new GetSecretValueCommand({ SecretId: "del" }))).SecretString,
      "x",
    );
    await client.send(
      new DeleteSecretCommand({ SecretId: "del", ForceDeleteWithoutRecovery: true }),
    );
    await rejectsWith(
      client.send(new DescribeSecretCommand({ SecretId: "del" })),
      "ResourceNotFoundException",
      NOT_FOUND,
    );
    await client.send(new CreateSecretCommand({ Name: "del", SecretString: "again" }));
  });

  it("tags, and ListSecrets' filters", async () => {
    await client.send(
      new CreateSecretCommand({
        Name: "app/tagged",
        SecretString: "t",
        Tags: [{ Key: "team", Value: "blue" }],
      }),
    );
    await client.send(
      new TagResourceCommand({ SecretId: "app/tagged", Tags: [{ Key: "env", Value: "prod" }] }),
    );
    await client.send(new UntagResourceCommand({ SecretId: "app/tagged", TagKeys: ["team"] }));
    const described = await client.send(new DescribeSecretCommand({ SecretId: "app/tagged" }));
    assert.deepEqual(described.Tags, [{ Key: "env", Value: "prod" }]);
    await rejectsWith(
      client.send(
        new TagResourceCommand({ SecretId: "app/tagged", Tags: [{ Key: "aws:x", Value: "1" }] }),
      ),
      "InvalidParameterException",
    );
    const byName = await client.send(
      new ListSecretsCommand({ Filters: [{ Key: "name", Values: ["app/"] }] }),
    );
    assert.deepEqual(
      byName.SecretList?.map((s) => s.Name),
      ["app/tagged"],
    );
    const byTag = await client.send(
      new ListSecretsCommand({ Filters: [{ Key: "tag-value", Values: ["prod"] }] }),
    );
    assert.deepEqual(
      byTag.SecretList?.map((s) => s.Name),
      ["app/tagged"],
    );
    const negated = await client.send(
      new ListSecretsCommand({ Filters: [{ Key: "name", Values: ["!app/"] }] }),
    );
    assert.ok((negated.SecretList ?? []).length > 0);
    assert.ok(!(negated.SecretList ?? []).some((s) => s.Name === "app/tagged"));
    const one = await client.send(new ListSecretsCommand({ MaxResults: 1 }));
    assert.equal(one.SecretList?.length, 1);
    assert.ok(one.NextToken);
    const two = await client.send(
      new ListSecretsCommand({ MaxResults: 1, NextToken: one.NextToken }),
    );
    assert.notEqual(two.SecretList?.[0]?.Name, one.SecretList?.[0]?.Name);
  });

  it("no value is kept in the clear: the data dir's files never hold one", async () => {
    const value = `plain-${Math.random().toString(36).slice(2)}-marker`;
    await client.send(new CreateSecretCommand({ Name: "at-rest", SecretString: value }));
    await client.send(
      new PutSecretValueCommand({ SecretId: "at-rest", SecretString: `${value}-2` }),
    );
    const hits: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir)) {
        const path = join(dir, entry);
        const stat = statSync(path);
        if (stat.isDirectory()) walk(path);
        else if (stat.isFile() && readFileSync(path).includes(value)) hits.push(path);
      }
    };
    walk(berth.dataDir);
    assert.deepEqual(hits, []);
    assert.equal(
      (await client.send(new GetSecretValueCommand({ SecretId: "at-rest" }))).SecretString,
      `${value}-2`,
    );
  });
});
