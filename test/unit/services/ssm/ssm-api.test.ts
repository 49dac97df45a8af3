/** Parameter Store through the AWS SDK against an in-process Berth: semantics and AWS's errors. */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  AddTagsToResourceCommand,
  DeleteParameterCommand,
  DeleteParametersCommand,
  DescribeParametersCommand,
  GetParameterCommand,
  GetParameterHistoryCommand,
  GetParametersByPathCommand,
  GetParametersCommand,
  ListTagsForResourceCommand,
  PutParameterCommand,
  SSMClient,
} from "@aws-sdk/client-ssm";
import { startBerthInProcess, type TestBerth, rejectsWith } from "../../../../src/testing/index.js";

let berth: TestBerth;
let client: SSMClient;

before(async () => {
  berth = await startBerthInProcess();
  client = new SSMClient(berth.clientConfig);
});
after(async () => {
  client.destroy();
  await berth.stop();
});

describe("parameters", () => {
  it("PutParameter makes version 1, Overwrite the next; without it ParameterAlreadyExists", async () => {
    const first = await client.send(
      new PutParameterCommand({ Name: "/app/url", Value: "http://a", Type: "String" }),
    );
    assert.equal(first.Version, 1);
    assert.equal(first.Tier, "Standard");
    await rejectsWith(
      client.send(new PutParameterCommand({ Name: "/app/url", Value: "http://b", Type: "String" })),
      "ParameterAlreadyExists",
      "The parameter already exists. To overwrite this value, set the overwrite option in the request to true.",
    );
    const second = await client.send(
      new PutParameterCommand({ Name: "/app/url", Value: "http://b", Overwrite: true }),
    );
    assert.equal(second.Version, 2);
    const got = await client.send(new GetParameterCommand({ Name: "/app/url" }));
    assert.equal(got.Parameter?.Value, "http://b");
    assert.equal(got.Parameter?.Version, 2);
    assert.equal(got.Parameter?.ARN, "arn:aws:ssm:us-east-1:000000000000:parameter/app/url");
    const old = await client.send(new GetParameterCommand({ Name: "/app/url:1" }));
    assert.equal(old.Parameter?.Value, "http://a");
    assert.equal(old.Parameter?.Selector, ":1");
    await rejectsWith(
      client.send(new GetParameterCommand({ Name: "/app/url:9" })),
      "ParameterVersionNotFound",
    );
    const byArn = await client.send(new GetParameterCommand({ Name: got.Parameter?.ARN }));
    assert.equal(byArn.Parameter?.Name, "/app/url");
    const history = await client.send(new GetParameterHistoryCommand({ Name: "/app/url" }));
    assert.deepEqual(
      history.Parameters?.map((p) => [p.Version, p.Value]),
      [
        [1, "http://a"],
        [2, "http://b"],
      ],
    );
  });

  it("a missing parameter is ParameterNotFound", async () => {
    await rejectsWith(client.send(new GetParameterCommand({ Name: "/nope" })), "ParameterNotFound");
    await rejectsWith(
      client.send(new DeleteParameterCommand({ Name: "/nope" })),
      "ParameterNotFound",
      "Parameter /nope not found.",
    );
    await rejectsWith(
      client.send(new GetParameterHistoryCommand({ Name: "/nope" })),
      "ParameterNotFound",
    );
  });

  it("SecureString: sealed unless WithDecryption", async () => {
    await client.send(
      new PutParameterCommand({ Name: "/app/password", Value: "pa55word!", Type: "SecureString" }),
    );
    const sealed = await client.send(new GetParameterCommand({ Name: "/app/password" }));
    assert.equal(sealed.Parameter?.Type, "SecureString");
    assert.notEqual(sealed.Parameter?.Value, "pa55word!");
    assert.ok(!(sealed.Parameter?.Value ?? "").includes("pa55word"));
    const open = await client.send(
      new GetParameterCommand({ Name: "/app/password", WithDecryption: true }),
    );
    assert.equal(open.Parameter?.Value, "pa55word!");
    const described = await client.send(
      new DescribeParametersCommand({
        ParameterFilters: [{ Key: "Name", Values: ["/app/password"] }],
      }),
    );
    assert.equal(described.Parameters?.[0]?.KeyId, "alias/aws/ssm");
  });

  it("StringList, GetParameters with invalid names, paths with and without recursion", async () => {
    await client.send(
      new PutParameterCommand({ Name: "/svc/list", Value: "a,b,c", Type: "StringList" }),
    );
    await client.send(
      new PutParameterCommand({ Name: "/svc/db/host", Value: "h", Type: "String" }),
    );
    await client.send(
      new PutParameterCommand({ Name: "/svc/db/port", Value: "5432", Type: "String" }),
    );
    const many = await client.send(new GetParametersCommand({ Names: ["/svc/list", "/svc/none"] }));
    assert.deepEqual(
      many.Parameters?.map((p) => [p.Name, p.Type, p.Value]),
      [["/svc/list", "StringList", "a,b,c"]],
    );
    assert.deepEqual(many.InvalidParameters, ["/svc/none"]);
    const oneLevel = await client.send(new GetParametersByPathCommand({ Path: "/svc" }));
    assert.deepEqual(
      oneLevel.Parameters?.map((p) => p.Name),
      ["/svc/list"],
    );
    const recursive = await client.send(
      new GetParametersByPathCommand({ Path: "/svc/", Recursive: true }),
    );
    assert.deepEqual(
      recursive.Parameters?.map((p) => p.Name),
      ["/svc/db/host", "/svc/db/port", "/svc/list"],
    );
    const paged = await client.send(
      new GetParametersByPathCommand({ Path: "/svc", Recursive: true, MaxResults: 2 }),
    );
    assert.equal(paged.Parameters?.length, 2);
    const rest = await client.send(
      new GetParametersByPathCommand({
        Path: "/svc",
        Recursive: true,
        MaxResults: 2,
        NextToken: paged.NextToken,
      }),
    );
    assert.deepEqual(
      rest.Parameters?.map((p) => p.Name),
      ["/svc/list"],
    );
    await rejectsWith(
      client.send(new GetParametersByPathCommand({ Path: "svc" })),
      "ValidationException",
    );
    const begins = await client.send(
      new DescribeParametersCommand({
        ParameterFilters: [{ Key: "Name", Option: "BeginsWith", Values: ["/svc/db"] }],
      }),
    );
    assert.deepEqual(
      begins.Parameters?.map((p) => p.Name),
      ["/svc/db/host", "/svc/db/port"],
    );
    const deleted = await client.send(
      new DeleteParametersCommand({ Names: ["/svc/db/host", "/svc/missing"] }),
    );
    assert.deepEqual(deleted.DeletedParameters, ["/svc/db/host"]);
    assert.deepEqual(deleted.InvalidParameters, ["/svc/missing"]);
  });

  it("names, types, values and patterns SSM refuses", async () => {
    await rejectsWith(
      client.send(new PutParameterCommand({ Name: "/awsx/a", Value: "v", Type: "String" })),
      "ValidationException",
    );
    await rejectsWith(
      client.send(new PutParameterCommand({ Name: "a/b", Value: "v", Type: "String" })),
      "ValidationException",
      "Parameter name must be a fully qualified name.",
    );
    await rejectsWith(
      client.send(new PutParameterCommand({ Name: "/new/one", Value: "v" })),
      "ValidationException",
      "A parameter type is required when you create a parameter.",
    );
    await rejectsWith(
      client.send(new PutParameterCommand({ Name: "/x", Value: "v", Type: "Bogus" as "String" })),
      "ValidationException",
    );
    await rejectsWith(
      client.send(
        new PutParameterCommand({ Name: "/big", Value: "x".repeat(4097), Type: "String" }),
      ),
      "ValidationException",
    );
    await rejectsWith(
      client.send(
        new PutParameterCommand({
          Name: "/pat",
          Value: "abc",
          Type: "String",
          AllowedPattern: "^\\d+$",
        }),
      ),
      "ParameterPatternMismatchException",
      "Parameter value, cannot be validated against allowedPattern: ^\\d+$",
    );
    const deep = `/${Array.from({ length: 16 }, (_, i) => `l${i}`).join("/")}`;
    await rejectsWith(
      client.send(new PutParameterCommand({ Name: deep, Value: "v", Type: "String" })),
      "HierarchyLevelLimitExceededException",
    );
  });

  it("tags on a parameter", async () => {
    await client.send(
      new PutParameterCommand({
        Name: "/tagged",
        Value: "v",
        Type: "String",
        Tags: [{ Key: "a", Value: "1" }],
      }),
    );
    await client.send(
      new AddTagsToResourceCommand({
        ResourceType: "Parameter",
        ResourceId: "/tagged",
        Tags: [{ Key: "b", Value: "2" }],
      }),
    );
    const tags = await client.send(
      new ListTagsForResourceCommand({ ResourceType: "Parameter", ResourceId: "/tagged" }),
    );
    assert.deepEqual(tags.TagList, [
      { Key: "a", Value: "1" },
      { Key: "b", Value: "2" },
    ]);
    await rejectsWith(
      client.send(
        new ListTagsForResourceCommand({ ResourceType: "Parameter", ResourceId: "/none" }),
      ),
      "InvalidResourceId",
    );
  });
});
