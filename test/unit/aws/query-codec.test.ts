/** The Query protocol's form decoding and XML encoding, driven by the real ELBv2 model. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  decodeQueryInput,
  encodeQueryError,
  encodeQueryOutput,
  loadServiceModel,
  validateInput,
} from "../../../src/aws/index.js";

const model = loadServiceModel("elbv2");

describe("query decoding", () => {
  it("turns Member.N, nested A.B, numbers and booleans into the model's shape", () => {
    const params = new URLSearchParams(
      "Name=web&Subnets.member.2=s-2&Subnets.member.1=s-1&Tags.member.1.Key=team&Tags.member.1.Value=a",
    );
    assert.deepEqual(decodeQueryInput(model, "CreateLoadBalancer", params), {
      Name: "web",
      Subnets: ["s-1", "s-2"],
      Tags: [{ Key: "team", Value: "a" }],
    });
    const tg = decodeQueryInput(
      model,
      "CreateTargetGroup",
      new URLSearchParams(
        "Name=t&Port=8080&HealthCheckEnabled=false&Matcher.HttpCode=200-299&HealthCheckIntervalSeconds=5",
      ),
    );
    assert.deepEqual(tg, {
      Name: "t",
      Port: 8080,
      HealthCheckEnabled: false,
      Matcher: { HttpCode: "200-299" },
      HealthCheckIntervalSeconds: 5,
    });
  });

  it("decodes lists of structures holding lists, and an empty list", () => {
    const params = new URLSearchParams(
      "ListenerArn=l&Priority=3&Conditions.member.1.Field=path-pattern&Conditions.member.1.PathPatternConfig.Values.member.1=/a/*&Actions=",
    );
    assert.deepEqual(decodeQueryInput(model, "CreateRule", params), {
      ListenerArn: "l",
      Priority: 3,
      Conditions: [{ Field: "path-pattern", PathPatternConfig: { Values: ["/a/*"] } }],
      Actions: [],
    });
  });

  it("rejects a number that is not one as a ValidationError", () => {
    assert.throws(
      () => decodeQueryInput(model, "CreateTargetGroup", new URLSearchParams("Name=t&Port=eighty")),
      (error: { code: string; message: string }) =>
        error.code === "ValidationError" && error.message.includes("'Port'"),
    );
  });

  it("feeds the generic validator: ranges and required members", () => {
    const input = decodeQueryInput(
      model,
      "CreateTargetGroup",
      new URLSearchParams("Port=70000&HealthCheckIntervalSeconds=1"),
    );
    assert.throws(
      () => validateInput(model, "CreateTargetGroup", input, "ValidationError"),
      (error: { code: string; message: string }) =>
        error.code === "ValidationError" && error.message.startsWith("3 validation errors"),
    );
  });
});

describe("query encoding", () => {
  it("wraps the result, renders lists as member, timestamps in ISO 8601, escapes text", () => {
    const xml = encodeQueryOutput(
      model,
      "DescribeLoadBalancers",
      {
        LoadBalancers: [
          {
            LoadBalancerName: "a<b",
            CreatedTime: new Date("2026-01-02T03:04:05.000Z"),
            SecurityGroups: ["sg-1", "sg-2"],
            State: { Code: "active" },
          },
        ],
      },
      "req-1",
    );
    assert.equal(
      xml,
      '<DescribeLoadBalancersResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/">' +
        "<DescribeLoadBalancersResult><LoadBalancers><member>" +
        "<CreatedTime>2026-01-02T03:04:05.000Z</CreatedTime><LoadBalancerName>a&lt;b</LoadBalancerName>" +
        "<State><Code>active</Code></State><SecurityGroups><member>sg-1</member><member>sg-2</member></SecurityGroups>" +
        "</member></LoadBalancers></DescribeLoadBalancersResult>" +
        "<ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></DescribeLoadBalancersResponse>",
    );
  });

  it("renders the error document", () => {
    assert.equal(
      encodeQueryError("ns", "Sender", "PriorityInUse", "Priority '5' is in use", "r"),
      '<ErrorResponse xmlns="ns"><Error><Type>Sender</Type><Code>PriorityInUse</Code>' +
        "<Message>Priority '5' is in use</Message></Error><RequestId>r</RequestId></ErrorResponse>",
    );
  });
});
