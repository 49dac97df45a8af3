import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AwsError, loadServiceModel, validateInput } from "../../../src/aws/index.js";

const ecs = loadServiceModel("ecs");

function failure(action: string, body: unknown): AwsError {
  try {
    validateInput(ecs, action, body, "InvalidParameterException");
  } catch (error) {
    assert.ok(error instanceof AwsError, String(error));
    return error;
  }
  assert.fail("expected validation to fail");
}

describe("validation against the AWS model", () => {
  it("reports a missing required member in Coral's words", () => {
    const error = failure("DescribeTaskDefinition", {});
    assert.equal(error.code, "InvalidParameterException");
    assert.equal(
      error.message,
      "1 validation error detected: Value null at 'taskDefinition' failed to satisfy constraint: Member must not be null",
    );
  });

  it("reports every violation together, with nested paths", () => {
    const error = failure("RegisterTaskDefinition", {
      family: "f",
      containerDefinitions: [{ name: "a", image: "x", portMappings: [{ protocol: "sctp" }] }],
      networkMode: "wormhole",
    });
    assert.match(error.message, /^2 validation errors detected: /);
    assert.match(
      error.message,
      /Value 'wormhole' at 'networkMode' failed to satisfy constraint: Member must satisfy enum value set: \[bridge, host, awsvpc, none\]/,
    );
    assert.match(
      error.message,
      /at 'containerDefinitions\.1\.member\.portMappings\.1\.member\.protocol'/,
    );
  });

  it("answers a wrong JSON type with SerializationException", () => {
    const error = failure("ListClusters", { maxResults: "ten" });
    assert.equal(error.code, "SerializationException");
    assert.equal(error.message, "STRING_VALUE cannot be converted to Integer");
    assert.equal(failure("ListClusters", []).message, "Start of list found where not expected");
    assert.equal(
      failure("CreateCluster", { clusterName: { a: 1 } }).code,
      "SerializationException",
    );
    assert.equal(
      failure("CreateCluster", { clusterName: 5 }).message,
      "NUMBER_VALUE cannot be converted to String",
    );
    assert.equal(
      failure("DescribeClusters", { clusters: "default" }).code,
      "SerializationException",
    );
  });

  it("checks list lengths from the model", () => {
    const error = failure("DescribeTaskDefinition", {
      taskDefinition: "x",
      include: ["TAGS", "NOPE"],
    });
    assert.match(
      error.message,
      /Value 'NOPE' at 'include\.2\.member' failed to satisfy constraint: Member must satisfy enum value set/,
    );
  });

  it("drops members the model does not know and converts timestamps", () => {
    const cleaned = validateInput(
      ecs,
      "CreateCluster",
      { clusterName: "a", sneaky: "x", tags: [{ key: "k", value: "v", extra: 1 }] },
      "InvalidParameterException",
    );
    assert.deepEqual(cleaned, { clusterName: "a", tags: [{ key: "k", value: "v" }] });
  });

  it("checks lengths of strings and values of numbers", () => {
    const error = failure("TagResource", {
      resourceArn: "arn:aws:ecs:us-east-1:000000000000:cluster/a",
      tags: [{ key: "", value: "x".repeat(300) }],
    });
    assert.match(
      error.message,
      /at 'tags\.1\.member\.key' failed to satisfy constraint: Member must have length greater than or equal to 1/,
    );
    assert.match(
      error.message,
      /at 'tags\.1\.member\.value' failed to satisfy constraint: Member must have length less than or equal to 256/,
    );
  });

  it("refuses a non-object body", () => {
    assert.equal(failure("ListClusters", "hello").code, "SerializationException");
    assert.equal(failure("ListClusters", 42).code, "SerializationException");
  });
});
