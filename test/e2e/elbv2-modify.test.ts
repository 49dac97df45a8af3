/**
 * ELBv2 changes in place (issue 13 #25, #27): load balancer attributes (with deletion
 * protection honoured), ModifyListener, ModifyRule and SetRulePriorities, seen both through
 * the API and in what the listener serves; and ELB's refusals of a listener without a
 * protocol, an unknown fixed-response content type and several legacy condition Values.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateRuleCommand,
  CreateTargetGroupCommand,
  DeleteLoadBalancerCommand,
  DescribeLoadBalancerAttributesCommand,
  DescribeRulesCommand,
  DescribeTargetGroupsCommand,
  ElasticLoadBalancingV2Client,
  ModifyListenerCommand,
  ModifyLoadBalancerAttributesCommand,
  ModifyRuleCommand,
  SetRulePrioritiesCommand,
  type Action,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { freePort, startBerthInProcess, type TestBerth } from "../../src/testing/index.js";

let berth: TestBerth;
let elb: ElasticLoadBalancingV2Client;
before(async () => {
  berth = await startBerthInProcess();
  elb = new ElasticLoadBalancingV2Client(berth.clientConfig);
});
after(async () => {
  elb.destroy();
  await berth.stop();
});

async function failure(promise: Promise<unknown>): Promise<{ name: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    // The SDK names the wire code with an "Exception" suffix (PriorityInUse ->
    // PriorityInUseException); compare the wire code.
    return {
      name: (error as Error).name.replace(/Exception$/, ""),
      message: (error as Error).message,
    };
  }
  return assert.fail("expected the call to be refused");
}

const fixed = (body: string): Action[] => [
  {
    Type: "fixed-response",
    FixedResponseConfig: { StatusCode: "200", ContentType: "text/plain", MessageBody: body },
  },
];

async function get(port: number, path = "/"): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`);
  return response.text();
}

describe("ELBv2 in-place changes", () => {
  it("keeps load balancer attributes and honours deletion protection", async () => {
    const { LoadBalancers } = await elb.send(new CreateLoadBalancerCommand({ Name: "attrs" }));
    const arn = LoadBalancers?.[0]?.LoadBalancerArn ?? "";
    const read = async (): Promise<Record<string, string | undefined>> =>
      Object.fromEntries(
        (
          (await elb.send(new DescribeLoadBalancerAttributesCommand({ LoadBalancerArn: arn })))
            .Attributes ?? []
        ).map((a): [string, string | undefined] => [a.Key ?? "", a.Value]),
      );
    const defaults = await read();
    assert.equal(defaults["idle_timeout.timeout_seconds"], "60");
    assert.equal(defaults["deletion_protection.enabled"], "false");
    await elb.send(
      new ModifyLoadBalancerAttributesCommand({
        LoadBalancerArn: arn,
        Attributes: [
          { Key: "deletion_protection.enabled", Value: "true" },
          { Key: "idle_timeout.timeout_seconds", Value: "120" },
        ],
      }),
    );
    assert.equal((await read())["idle_timeout.timeout_seconds"], "120");
    const bad = await failure(
      elb.send(
        new ModifyLoadBalancerAttributesCommand({
          LoadBalancerArn: arn,
          Attributes: [{ Key: "no.such.key", Value: "1" }],
        }),
      ),
    );
    assert.equal(bad.name, "InvalidConfigurationRequest");
    const protectedLb = await failure(
      elb.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: arn })),
    );
    assert.equal(protectedLb.name, "OperationNotPermitted");
    await elb.send(
      new ModifyLoadBalancerAttributesCommand({
        LoadBalancerArn: arn,
        Attributes: [{ Key: "deletion_protection.enabled", Value: "false" }],
      }),
    );
    await elb.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: arn }));
  });

  it("modifies a listener, its rules and their priorities, and serves the change", async () => {
    const { LoadBalancers } = await elb.send(new CreateLoadBalancerCommand({ Name: "switch" }));
    const lbArn = LoadBalancers?.[0]?.LoadBalancerArn ?? "";
    const noProtocol = await failure(
      elb.send(
        new CreateListenerCommand({
          LoadBalancerArn: lbArn,
          Port: await freePort(),
          DefaultActions: fixed("x"),
        }),
      ),
    );
    assert.deepEqual(noProtocol, {
      name: "ValidationError",
      message: "A listener protocol must be specified",
    });
    const first = await freePort();
    const { Listeners } = await elb.send(
      new CreateListenerCommand({
        LoadBalancerArn: lbArn,
        Protocol: "HTTP",
        Port: first,
        DefaultActions: fixed("blue"),
      }),
    );
    const listenerArn = Listeners?.[0]?.ListenerArn ?? "";
    assert.equal(await get(first), "blue");

    const second = await freePort();
    const modified = await elb.send(
      new ModifyListenerCommand({
        ListenerArn: listenerArn,
        Port: second,
        DefaultActions: fixed("green"),
      }),
    );
    assert.equal(modified.Listeners?.[0]?.Port, second);
    assert.equal(
      await (async () => {
        for (let i = 0; i < 50; i++) {
          try {
            const text = await get(second);
            if (text === "green") return text;
          } catch {
            // the plane binds the new port on its next pass
          }
          await new Promise((r) => setTimeout(r, 100));
        }
        return "never";
      })(),
      "green",
    );

    const rule = (path: string, priority: number, body: string) =>
      elb.send(
        new CreateRuleCommand({
          ListenerArn: listenerArn,
          Priority: priority,
          Conditions: [{ Field: "path-pattern", PathPatternConfig: { Values: [path] } }],
          Actions: fixed(body),
        }),
      );
    const a = (await rule("/a*", 10, "a")).Rules?.[0]?.RuleArn ?? "";
    const b = (await rule("/*", 20, "catch-all")).Rules?.[0]?.RuleArn ?? "";
    // Swap them: the catch-all now wins for /a.
    await elb.send(
      new SetRulePrioritiesCommand({
        RulePriorities: [
          { RuleArn: a, Priority: 20 },
          { RuleArn: b, Priority: 10 },
        ],
      }),
    );
    const { Rules = [] } = await elb.send(new DescribeRulesCommand({ ListenerArn: listenerArn }));
    assert.deepEqual(
      Rules.map((r) => [r.RuleArn, r.Priority]),
      [
        [b, "10"],
        [a, "20"],
        [Rules[2]?.RuleArn, "default"],
      ],
    );
    const taken = await failure(
      elb.send(new SetRulePrioritiesCommand({ RulePriorities: [{ RuleArn: a, Priority: 10 }] })),
    );
    assert.equal(taken.name, "PriorityInUse");
    await elb.send(
      new ModifyRuleCommand({
        RuleArn: b,
        Conditions: [{ Field: "path-pattern", PathPatternConfig: { Values: ["/b*"] } }],
        Actions: fixed("b"),
      }),
    );
    let served = "";
    for (let i = 0; i < 50 && served !== "a|b"; i++) {
      served = `${await get(second, "/a")}|${await get(second, "/b")}`;
      if (served !== "a|b") await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(served, "a|b");

    const legacy = await failure(
      rule("/x", 30, "x").then(() =>
        elb.send(
          new CreateRuleCommand({
            ListenerArn: listenerArn,
            Priority: 31,
            Conditions: [{ Field: "path-pattern", Values: ["/y", "/z"] }],
            Actions: fixed("y"),
          }),
        ),
      ),
    );
    assert.equal(legacy.name, "ValidationError");
    const type = await failure(
      elb.send(
        new CreateRuleCommand({
          ListenerArn: listenerArn,
          Priority: 32,
          Conditions: [{ Field: "path-pattern", Values: ["/q"] }],
          Actions: [
            {
              Type: "fixed-response",
              FixedResponseConfig: { StatusCode: "200", ContentType: "image/png" },
            },
          ],
        }),
      ),
    );
    assert.equal(type.name, "ValidationError");
  });

  it("lists target groups by name", async () => {
    for (const name of ["zeta", "alpha", "mid"])
      await elb.send(
        new CreateTargetGroupCommand({ Name: name, Protocol: "HTTP", Port: 80, TargetType: "ip" }),
      );
    const { TargetGroups = [] } = await elb.send(new DescribeTargetGroupsCommand({}));
    assert.deepEqual(
      TargetGroups.map((g) => g.TargetGroupName),
      ["alpha", "mid", "zeta"],
    );
  });
});
