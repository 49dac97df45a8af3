// IAM's evaluation logic, pure: explicit Deny wins, then Allow, else implicit deny; wildcards
// in actions (any case) and resources (exact case); conditions on ecs:cluster and
// aws:ResourceTag, negated operators, IfExists and Null; trust policies' principals.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  evaluatePolicies,
  parsePolicy,
  trustAllows,
  wildcardMatch,
} from "../../../../src/services/iam/index.js";

const CLUSTER_A = "arn:aws:ecs:us-east-1:000000000000:cluster/a";
const TASK_DEF = "arn:aws:ecs:us-east-1:000000000000:task-definition/web:1";

const policy = (...statements: object[]) =>
  parsePolicy(JSON.stringify({ Version: "2012-10-17", Statement: statements }), "identity");

describe("policy evaluation", () => {
  it("wildcards: * and ? in actions (case-insensitive) and resources (case-sensitive)", () => {
    assert.ok(wildcardMatch("ecs:Describe*", "ecs:describetasks", true));
    assert.ok(!wildcardMatch("ecs:Describe*", "ecs:ListTasks", true));
    assert.ok(
      wildcardMatch("arn:aws:ecs:*:*:cluster/te?m-*", "arn:aws:ecs:us-east-1:1:cluster/team-a"),
    );
    assert.ok(
      !wildcardMatch("arn:aws:ecs:*:*:cluster/Team", "arn:aws:ecs:us-east-1:1:cluster/team"),
    );
  });

  it("nothing allowed is an implicit deny; an explicit Deny beats any Allow", () => {
    const request = { action: "ecs:RunTask", resource: TASK_DEF, context: {} };
    assert.equal(evaluatePolicies([], request), "ImplicitDeny");
    const allow = policy({ Effect: "Allow", Action: "ecs:*", Resource: "*" });
    assert.equal(evaluatePolicies([allow], request), "Allow");
    const deny = policy({ Effect: "Deny", Action: "ecs:Run*", Resource: "*" });
    assert.equal(evaluatePolicies([allow, deny], request), "ExplicitDeny");
    const notAction = policy({ Effect: "Allow", NotAction: "ecs:RunTask", Resource: "*" });
    assert.equal(evaluatePolicies([notAction], request), "ImplicitDeny");
    assert.equal(evaluatePolicies([notAction], { ...request, action: "ecs:ListTasks" }), "Allow");
  });

  it("ecs:cluster with ArnEquals / ArnLike limits an action to one cluster", () => {
    const scoped = policy({
      Effect: "Allow",
      Action: "ecs:RunTask",
      Resource: "*",
      Condition: { ArnEquals: { "ecs:cluster": CLUSTER_A } },
    });
    const run = (cluster: string) =>
      evaluatePolicies([scoped], {
        action: "ecs:RunTask",
        resource: TASK_DEF,
        context: { "ecs:cluster": [cluster] },
      });
    assert.equal(run(CLUSTER_A), "Allow");
    assert.equal(run(CLUSTER_A.replace("/a", "/b")), "ImplicitDeny");
    // A request without the key does not satisfy a positive condition.
    assert.equal(
      evaluatePolicies([scoped], { action: "ecs:RunTask", resource: TASK_DEF, context: {} }),
      "ImplicitDeny",
    );
  });

  it("aws:ResourceTag, negated operators, IfExists and Null", () => {
    const byTag = policy({
      Effect: "Allow",
      Action: "ecs:*",
      Resource: "*",
      Condition: { StringEquals: { "aws:ResourceTag/Team": "blue" } },
    });
    const on = (context: Record<string, string[]>) =>
      evaluatePolicies([byTag], {
        action: "ecs:StopTask",
        resource: "arn:x:y:z:1:task/a/1",
        context,
      });
    assert.equal(on({ "aws:resourcetag/team": ["blue"] }), "Allow");
    assert.equal(on({ "aws:resourcetag/team": ["red"] }), "ImplicitDeny");
    assert.equal(on({}), "ImplicitDeny");

    const notRed = policy({
      Effect: "Deny",
      Action: "*",
      Resource: "*",
      Condition: { StringNotEquals: { "aws:ResourceTag/team": "red" } },
    });
    const allow = policy({ Effect: "Allow", Action: "*", Resource: "*" });
    const decide = (context: Record<string, string[]>) =>
      evaluatePolicies([allow, notRed], { action: "ecs:StopTask", resource: "*", context });
    assert.equal(decide({ "aws:resourcetag/team": ["red"] }), "Allow");
    // A negated operator holds for a missing key: the Deny applies.
    assert.equal(decide({}), "ExplicitDeny");

    const ifExists = policy({
      Effect: "Allow",
      Action: "*",
      Resource: "*",
      Condition: { StringEqualsIfExists: { "aws:ResourceTag/team": "blue" } },
    });
    assert.equal(
      evaluatePolicies([ifExists], { action: "a:b", resource: "*", context: {} }),
      "Allow",
    );
    const mustBeTagged = policy({
      Effect: "Allow",
      Action: "*",
      Resource: "*",
      Condition: { Null: { "aws:ResourceTag/team": "false" } },
    });
    assert.equal(
      evaluatePolicies([mustBeTagged], { action: "a:b", resource: "*", context: {} }),
      "ImplicitDeny",
    );
    assert.equal(
      evaluatePolicies([mustBeTagged], {
        action: "a:b",
        resource: "*",
        context: { "aws:resourcetag/team": ["x"] },
      }),
      "Allow",
    );
  });

  it("trust policies name who may assume a role: accounts, ARNs and services", () => {
    const trust = parsePolicy(
      JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          {
            Effect: "Allow",
            Principal: { Service: "ecs-tasks.amazonaws.com" },
            Action: "sts:AssumeRole",
          },
          {
            Effect: "Allow",
            Principal: { AWS: "arn:aws:iam::000000000000:user/alice" },
            Action: "sts:AssumeRole",
          },
        ],
      }),
      "trust",
    );
    assert.ok(trustAllows(trust, { service: "ecs-tasks.amazonaws.com" }, "sts:AssumeRole"));
    assert.ok(!trustAllows(trust, { service: "lambda.amazonaws.com" }, "sts:AssumeRole"));
    const alice = { arn: "arn:aws:iam::000000000000:user/alice", accountId: "000000000000" };
    assert.ok(trustAllows(trust, alice, "sts:AssumeRole"));
    assert.ok(
      !trustAllows(trust, { ...alice, arn: alice.arn.replace("alice", "bob") }, "sts:AssumeRole"),
    );
    const account = parsePolicy(
      JSON.stringify({
        Statement: {
          Effect: "Allow",
          Principal: { AWS: "arn:aws:iam::000000000000:root" },
          Action: "sts:AssumeRole",
        },
      }),
      "trust",
    );
    assert.ok(
      trustAllows(
        account,
        { ...alice, arn: "arn:aws:iam::000000000000:user/bob" },
        "sts:AssumeRole",
      ),
    );
  });

  it("refuses malformed documents with IAM's texts", () => {
    const bad = (document: unknown, kind: "identity" | "trust" = "identity") =>
      assert.throws(
        () => parsePolicy(JSON.stringify(document), kind),
        (error: Error & { code?: string }) => {
          assert.equal(error.code, "MalformedPolicyDocument");
          return true;
        },
      );
    bad({ Statement: [{ Effect: "Permit", Action: "ecs:*", Resource: "*" }] });
    bad({ Statement: [{ Effect: "Allow", Action: "RunTask", Resource: "*" }] });
    bad({
      Statement: [
        {
          Effect: "Allow",
          Action: "ecs:*",
          Resource: "*",
          Condition: { StringEqualz: { "a:b": "c" } },
        },
      ],
    });
    bad({ Statement: [{ Effect: "Allow", Action: "sts:AssumeRole" }] }, "trust");
    bad({
      Version: "2012-10-18",
      Statement: [{ Effect: "Allow", Action: "ecs:*", Resource: "*" }],
    });
  });
});
