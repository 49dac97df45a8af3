/**
 * The ELBv2 API on the AWS Query protocol against a started Berth: the Debian AWS CLI v2 and
 * the SDK's ELBv2 client create, describe and delete load balancers, target groups, listeners
 * and rules; errors come back as AWS XML errors; hostile form bodies never crash it.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { Hash } from "@smithy/hash-node";
import { HttpRequest } from "@smithy/protocol-http";
import { SignatureV4 } from "@smithy/signature-v4";
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateRuleCommand,
  CreateTargetGroupCommand,
  DeleteListenerCommand,
  DeleteRuleCommand,
  DescribeListenersCommand,
  DescribeRulesCommand,
  DescribeTargetGroupAttributesCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  ModifyTargetGroupAttributesCommand,
  RegisterTargetsCommand,
  DeregisterTargetsCommand,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { startBerthInProcess, type TestBerth } from "../../src/testing/index.js";

const run = promisify(execFile);
const AWS = "/usr/bin/aws";

let berth: TestBerth;
let elb: ElasticLoadBalancingV2Client;

async function aws(args: string[]): Promise<Record<string, unknown>> {
  const { stdout } = await run(
    AWS,
    ["--endpoint-url", berth.endpoint, "--output", "json", ...args],
    {
      env: berth.awsEnv,
    },
  );
  return stdout.trim() === "" ? {} : (JSON.parse(stdout) as Record<string, unknown>);
}

async function awsFailure(args: string[]): Promise<string> {
  try {
    await aws(args);
  } catch (error) {
    return (error as { stderr: string }).stderr.trim();
  }
  throw new Error(`aws ${args.join(" ")} succeeded`);
}

/** A SigV4-signed form POST, as a Query client sends it. */
async function post(body: string, service = "elasticloadbalancing") {
  const url = new URL(berth.endpoint);
  const signer = new SignatureV4({
    credentials: berth.credentials,
    region: berth.region,
    service,
    sha256: Hash.bind(null, "sha256"),
  });
  const signed = await signer.sign(
    new HttpRequest({
      method: "POST",
      hostname: url.hostname,
      port: Number(url.port),
      path: "/",
      headers: {
        host: url.host,
        "content-type": "application/x-www-form-urlencoded; charset=utf-8",
      },
      body,
    }),
  );
  const response = await fetch(berth.endpoint, {
    method: "POST",
    headers: signed.headers,
    body,
  });
  return { status: response.status, body: await response.text() };
}

before(async () => {
  berth = await startBerthInProcess();
  elb = new ElasticLoadBalancingV2Client(berth.clientConfig);
});

after(async () => {
  elb?.destroy();
  await berth?.stop();
});

describe("ELBv2 API", () => {
  it("creates a load balancer, target group, listener and rules with the AWS CLI", async () => {
    const created = await aws([
      "elbv2",
      "create-load-balancer",
      "--name",
      "web",
      "--subnets",
      "subnet-a",
      "subnet-b",
      "--tags",
      "Key=team,Value=edge",
    ]);
    const [lb] = created.LoadBalancers as { LoadBalancerArn: string; DNSName: string }[];
    assert.match(
      lb?.LoadBalancerArn ?? "",
      /^arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer\/app\/web\/[0-9a-f]{16}$/,
    );
    assert.match(lb?.DNSName ?? "", /^web-\d+\.us-east-1\.elb\.localhost$/);
    // The same name and settings again answers the same load balancer (idempotent, as on AWS).
    const again = await aws(["elbv2", "create-load-balancer", "--name", "web"]);
    assert.equal(
      (again.LoadBalancers as { LoadBalancerArn: string }[])[0]?.LoadBalancerArn,
      lb?.LoadBalancerArn,
    );
    assert.match(
      await awsFailure(["elbv2", "create-load-balancer", "--name", "web", "--scheme", "internal"]),
      /\(DuplicateLoadBalancerName\).*'web' exists, but with different settings/,
    );

    const group = await aws([
      "elbv2",
      "create-target-group",
      "--name",
      "web-tg",
      "--protocol",
      "HTTP",
      "--port",
      "8080",
      "--target-type",
      "ip",
      "--health-check-path",
      "/health",
      "--health-check-interval-seconds",
      "5",
      "--health-check-timeout-seconds",
      "2",
      "--healthy-threshold-count",
      "2",
      "--matcher",
      "HttpCode=200-299",
    ]);
    const [tg] = group.TargetGroups as Record<string, unknown>[];
    assert.equal(tg?.HealthCheckPath, "/health");
    assert.equal(tg?.UnhealthyThresholdCount, 2);
    assert.deepEqual(tg?.Matcher, { HttpCode: "200-299" });
    const tgArn = String(tg?.TargetGroupArn);

    const listener = await aws([
      "elbv2",
      "create-listener",
      "--load-balancer-arn",
      lb?.LoadBalancerArn ?? "",
      "--protocol",
      "HTTP",
      "--port",
      "18081",
      "--default-actions",
      `Type=forward,TargetGroupArn=${tgArn}`,
    ]);
    const listenerArn = String((listener.Listeners as { ListenerArn: string }[])[0]?.ListenerArn);
    assert.match(
      await awsFailure([
        "elbv2",
        "create-listener",
        "--load-balancer-arn",
        lb?.LoadBalancerArn ?? "",
        "--protocol",
        "HTTP",
        "--port",
        "18081",
        "--default-actions",
        `Type=forward,TargetGroupArn=${tgArn}`,
      ]),
      /\(DuplicateListener\)/,
    );

    await aws([
      "elbv2",
      "create-rule",
      "--listener-arn",
      listenerArn,
      "--priority",
      "10",
      "--conditions",
      "Field=path-pattern,Values=/api/*",
      "--actions",
      `Type=forward,TargetGroupArn=${tgArn}`,
    ]);
    assert.match(
      await awsFailure([
        "elbv2",
        "create-rule",
        "--listener-arn",
        listenerArn,
        "--priority",
        "10",
        "--conditions",
        "Field=host-header,Values=a.example.com",
        "--actions",
        `Type=forward,TargetGroupArn=${tgArn}`,
      ]),
      /\(PriorityInUse\).*Priority '10' is currently in use/,
    );
    const rules = await elb.send(new DescribeRulesCommand({ ListenerArn: listenerArn }));
    assert.deepEqual(
      rules.Rules?.map((r) => [r.Priority, r.IsDefault]),
      [
        ["10", false],
        ["default", true],
      ],
    );
    const defaultRule = rules.Rules?.[1]?.RuleArn ?? "";
    assert.match(
      await awsFailure(["elbv2", "delete-rule", "--rule-arn", defaultRule]),
      /\(OperationNotPermitted\)/,
    );

    // The target group now belongs to the load balancer and cannot go while it is in use.
    const described = await elb.send(new DescribeTargetGroupsCommand({ TargetGroupArns: [tgArn] }));
    assert.deepEqual(described.TargetGroups?.[0]?.LoadBalancerArns, [lb?.LoadBalancerArn]);
    assert.match(
      await awsFailure(["elbv2", "delete-target-group", "--target-group-arn", tgArn]),
      /\(ResourceInUse\)/,
    );

    const tags = await aws([
      "elbv2",
      "describe-tags",
      "--resource-arns",
      lb?.LoadBalancerArn ?? "",
    ]);
    assert.deepEqual((tags.TagDescriptions as { Tags: unknown[] }[])[0]?.Tags, [
      { Key: "team", Value: "edge" },
    ]);

    await aws(["elbv2", "delete-load-balancer", "--load-balancer-arn", lb?.LoadBalancerArn ?? ""]);
    assert.match(
      await awsFailure(["elbv2", "describe-listeners", "--listener-arns", listenerArn]),
      /\(ListenerNotFound\)/,
    );
    await aws(["elbv2", "delete-target-group", "--target-group-arn", tgArn]);
    assert.match(
      await awsFailure(["elbv2", "describe-target-groups", "--names", "web-tg"]),
      /\(TargetGroupNotFound\) .*One or more target groups not found/,
    );
  });

  it("keeps targets, attributes and target health with the SDK", async () => {
    const { TargetGroups } = await elb.send(
      new CreateTargetGroupCommand({ Name: "api", Protocol: "HTTP", Port: 80, TargetType: "ip" }),
    );
    const tgArn = TargetGroups?.[0]?.TargetGroupArn ?? "";
    assert.equal(TargetGroups?.[0]?.HealthCheckIntervalSeconds, 30);
    const attributes = await elb.send(
      new DescribeTargetGroupAttributesCommand({ TargetGroupArn: tgArn }),
    );
    const value = (key: string, list = attributes.Attributes) =>
      list?.find((a) => a.Key === key)?.Value;
    assert.equal(value("deregistration_delay.timeout_seconds"), "300");
    assert.equal(value("load_balancing.algorithm.type"), "round_robin");
    const modified = await elb.send(
      new ModifyTargetGroupAttributesCommand({
        TargetGroupArn: tgArn,
        Attributes: [
          { Key: "deregistration_delay.timeout_seconds", Value: "30" },
          { Key: "load_balancing.algorithm.type", Value: "least_outstanding_requests" },
        ],
      }),
    );
    assert.equal(
      value("load_balancing.algorithm.type", modified.Attributes),
      "least_outstanding_requests",
    );
    await assert.rejects(
      elb.send(
        new ModifyTargetGroupAttributesCommand({
          TargetGroupArn: tgArn,
          Attributes: [{ Key: "deregistration_delay.timeout_seconds", Value: "4000" }],
        }),
      ),
      { name: "ValidationError" },
    );

    await elb.send(
      new RegisterTargetsCommand({
        TargetGroupArn: tgArn,
        Targets: [{ Id: "100.64.1.2" }, { Id: "100.64.1.3", Port: 8080 }],
      }),
    );
    await assert.rejects(
      elb.send(new RegisterTargetsCommand({ TargetGroupArn: tgArn, Targets: [{ Id: "i-123" }] })),
      { name: "InvalidTargetException" },
    );
    let health = await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: tgArn }));
    // No load balancer forwards to the group yet: its targets are unused.
    assert.deepEqual(
      health.TargetHealthDescriptions?.map((d) => [
        d.Target?.Id,
        d.Target?.Port,
        d.TargetHealth?.State,
        d.TargetHealth?.Reason,
      ]),
      [
        ["100.64.1.2", 80, "unused", "Target.NotInUse"],
        ["100.64.1.3", 8080, "unused", "Target.NotInUse"],
      ],
    );
    await elb.send(
      new DeregisterTargetsCommand({ TargetGroupArn: tgArn, Targets: [{ Id: "100.64.1.2" }] }),
    );
    // A deregistered target drains; with nothing in flight it leaves at once, as on ELB.
    const asked = async () =>
      (
        await elb.send(
          new DescribeTargetHealthCommand({
            TargetGroupArn: tgArn,
            Targets: [{ Id: "100.64.1.2" }, { Id: "100.64.9.9" }],
          }),
        )
      ).TargetHealthDescriptions?.map((d) => [d.TargetHealth?.State, d.TargetHealth?.Reason]);
    const first = await asked();
    assert.ok(
      ["draining", "unused"].includes(String(first?.[0]?.[0])),
      `deregistered target is ${String(first?.[0]?.[0])}`,
    );
    let states = first;
    for (let i = 0; i < 100 && states?.[0]?.[0] === "draining"; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      states = await asked();
    }
    assert.deepEqual(states, [
      ["unused", "Target.NotRegistered"],
      ["unused", "Target.NotRegistered"],
    ]);

    const { LoadBalancers } = await elb.send(new CreateLoadBalancerCommand({ Name: "api-lb" }));
    const lbArn = LoadBalancers?.[0]?.LoadBalancerArn ?? "";
    const { Listeners } = await elb.send(
      new CreateListenerCommand({
        Protocol: "HTTP",
        LoadBalancerArn: lbArn,
        Port: 18082,
        DefaultActions: [{ Type: "fixed-response", FixedResponseConfig: { StatusCode: "404" } }],
      }),
    );
    const listenerArn = Listeners?.[0]?.ListenerArn ?? "";
    const { Rules } = await elb.send(
      new CreateRuleCommand({
        ListenerArn: listenerArn,
        Priority: 1,
        Conditions: [{ Field: "host-header", HostHeaderConfig: { Values: ["api.*"] } }],
        Actions: [{ Type: "forward", TargetGroupArn: tgArn }],
      }),
    );
    health = await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: tgArn }));
    assert.equal(health.TargetHealthDescriptions?.[0]?.TargetHealth?.State, "initial");
    // A target group serves one load balancer at most.
    const other = await elb.send(new CreateLoadBalancerCommand({ Name: "other-lb" }));
    await assert.rejects(
      elb.send(
        new CreateListenerCommand({
          Protocol: "HTTP",
          LoadBalancerArn: other.LoadBalancers?.[0]?.LoadBalancerArn,
          Port: 18083,
          DefaultActions: [{ Type: "forward", TargetGroupArn: tgArn }],
        }),
      ),
      { name: "TargetGroupAssociationLimitException" },
    );
    await elb.send(new DeleteRuleCommand({ RuleArn: Rules?.[0]?.RuleArn }));
    await elb.send(new DeleteListenerCommand({ ListenerArn: listenerArn }));
    const listeners = await elb.send(new DescribeListenersCommand({ LoadBalancerArn: lbArn }));
    assert.deepEqual(listeners.Listeners, []);
  });
});

describe("ELBv2 bad input", () => {
  it("answers AWS XML errors with the right status, and keeps serving", async () => {
    const probes: [string, number, RegExp][] = [
      ["Action=NoSuchAction&Version=2015-12-01", 400, /<Code>InvalidAction<\/Code>/],
      ["Version=2015-12-01", 400, /<Code>InvalidAction<\/Code>/],
      [
        "Action=CreateTargetGroup&Version=2015-12-01",
        400,
        /<Code>ValidationError<\/Code><Message>1 validation error detected: Value null at 'Name'/,
      ],
      ["Action=CreateTargetGroup&Name=x&Port=abc", 400, /<Code>ValidationError<\/Code>/],
      [
        "Action=CreateTargetGroup&Name=x&Port=99999&Protocol=HTTP&TargetType=ip",
        400,
        /less than or equal to 65535/,
      ],
      [
        "Action=CreateRule&ListenerArn=nope&Priority=1&Conditions.member.1.Field=path-pattern&Conditions.member.1.Values.member.1=/&Actions.member.1.Type=forward",
        400,
        /<Code>ListenerNotFound<\/Code>/,
      ],
      ["Action=DescribeLoadBalancers&PageSize=0", 400, /<Code>ValidationError<\/Code>/],
      ["Action=DescribeLoadBalancers&Marker=zz", 400, /<Code>ValidationError<\/Code>/],
      [
        "Action=DescribeLoadBalancers&Names.member.1=" + "a".repeat(5000),
        400,
        /<Code>LoadBalancerNotFound<\/Code>/,
      ],
      [
        "Action=DescribeLoadBalancers&Names.member.x.y.z=1&Names=a&%ZZ=%",
        200,
        /<DescribeLoadBalancersResult>/,
      ],
      [
        "Action=RegisterTargets&TargetGroupArn=arn&Targets.member.1.Id=1.2.3.4&Targets.member.1.Port=-1",
        400,
        /<Code>ValidationError<\/Code>/,
      ],
      ["Action=CreateLoadBalancer&Name=ok&Type=network", 400, /<Code>ValidationError<\/Code>/],
      ["\u0000\u0001&&&==", 400, /<Code>InvalidAction<\/Code>/],
    ];
    for (const [body, status, pattern] of probes) {
      const answer = await post(body);
      assert.equal(answer.status, status, `${body.slice(0, 80)}: ${answer.body}`);
      assert.match(answer.body, pattern, body.slice(0, 80));
      if (status >= 400)
        assert.match(
          answer.body,
          /^<ErrorResponse xmlns="http:\/\/elasticloadbalancing\.amazonaws\.com\/doc\/2015-12-01\/"><Error><Type>Sender<\/Type>/,
        );
    }
    const unsigned = await fetch(berth.endpoint, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "Action=DescribeLoadBalancers",
    });
    assert.equal(unsigned.status, 403);
    assert.match(await unsigned.text(), /<Code>MissingAuthenticationToken<\/Code>/);
    const alive = await elb.send(new DescribeTargetGroupsCommand({}));
    assert.ok(Array.isArray(alive.TargetGroups));
  });
});
