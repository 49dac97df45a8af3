/** Rule matching, target choice and the target health state machine of the data plane. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  afterCheck,
  describeHealth,
  hostMatches,
  INITIAL_HEALTH,
  parseHttpCodes,
  pathMatches,
  pickListener,
  pickRule,
  pickTarget,
  pickWeighted,
  type HealthState,
  type ProbeResult,
} from "../../../src/balancer/index.js";

describe("patterns", () => {
  it("matches paths case-sensitively with * and ?", () => {
    assert.ok(pathMatches("/api/*", "/api/a/b"));
    assert.ok(pathMatches("/img/?.png", "/img/1.png"));
    assert.ok(!pathMatches("/img/?.png", "/img/12.png"));
    assert.ok(!pathMatches("/API/*", "/api/x"));
    assert.ok(pathMatches("/a.b", "/a.b"));
    assert.ok(!pathMatches("/a.b", "/axb"));
  });

  it("matches hosts case-insensitively", () => {
    assert.ok(hostMatches("*.example.com", "API.Example.com"));
    assert.ok(!hostMatches("*.example.com", "example.org"));
  });

  it("parses matchers: codes, lists, ranges, within 200-499", () => {
    const ok = parseHttpCodes("200,202,300-302");
    assert.ok(ok?.(202) && ok(301) && !ok(201) && !ok(303));
    assert.equal(parseHttpCodes("500"), undefined);
    assert.equal(parseHttpCodes("299-200"), undefined);
    assert.equal(parseHttpCodes("abc"), undefined);
  });
});

describe("routing", () => {
  const rules = [
    {
      priority: 1,
      conditions: [
        { Field: "host-header", Values: ["api.*"] },
        { Field: "path-pattern", Values: ["/v1/*"] },
      ],
      action: { Type: "forward" as const, TargetGroupArn: "v1" },
    },
    {
      priority: 2,
      conditions: [{ Field: "path-pattern", Values: ["/static/*", "/img/*"] }],
      action: { Type: "forward" as const, TargetGroupArn: "static" },
    },
    {
      priority: 50_001,
      conditions: [],
      action: { Type: "forward" as const, TargetGroupArn: "default" },
    },
  ];
  it("takes the first rule by priority whose conditions all match, else the default", () => {
    assert.equal(pickRule(rules, "api.x", "/v1/users")?.action.TargetGroupArn, "v1");
    assert.equal(pickRule(rules, "www.x", "/v1/users")?.action.TargetGroupArn, "default");
    assert.equal(pickRule(rules, "api.x", "/img/a.png")?.action.TargetGroupArn, "static");
  });

  it("finds a port's load balancer by DNS name, else the oldest", () => {
    const listeners = [
      { listenerArn: "l1", loadBalancerArn: "a", dnsName: "a.elb.localhost", port: 80, rules: [] },
      { listenerArn: "l2", loadBalancerArn: "b", dnsName: "b.elb.localhost", port: 80, rules: [] },
    ];
    assert.equal(pickListener(listeners, "b.elb.localhost")?.listenerArn, "l2");
    assert.equal(pickListener(listeners, "localhost")?.listenerArn, "l1");
  });

  it("chooses by weight, never a zero weight", () => {
    const choices = [
      { name: "a", weight: 0 },
      { name: "b", weight: 3 },
    ];
    for (const r of [0, 0.5, 0.999]) assert.equal(pickWeighted(choices, () => r)?.name, "b");
  });

  const targets = [
    { key: "a", healthy: true, inflight: 4 },
    { key: "b", healthy: false, inflight: 0 },
    { key: "c", healthy: true, inflight: 1 },
  ];
  it("round robin over healthy targets; least outstanding requests takes the least busy", () => {
    assert.deepEqual(
      [0, 1, 2, 3].map((i) => pickTarget(targets, "round_robin", i)?.key),
      ["a", "c", "a", "c"],
    );
    assert.equal(pickTarget(targets, "least_outstanding_requests", 0)?.key, "c");
  });

  it("fails open to every target when none is healthy, and has none to give when empty", () => {
    const sick = targets.map((t) => ({ ...t, healthy: false }));
    assert.equal(pickTarget(sick, "least_outstanding_requests", 0)?.key, "b");
    assert.equal(pickTarget([], "round_robin", 0), undefined);
  });
});

describe("target health", () => {
  const ok: ProbeResult = { ok: true };
  const mismatch: ProbeResult = { ok: false, reason: "Target.ResponseCodeMismatch", status: 404 };
  const run = (results: ProbeResult[], start: HealthState = INITIAL_HEALTH) =>
    results.reduce((state, r) => afterCheck(state, r, 3, 2), start);

  it("becomes healthy after the healthy threshold in a row, unhealthy after the unhealthy one", () => {
    assert.equal(run([ok, ok]).state, "initial");
    assert.deepEqual(describeHealth(run([ok])), {
      State: "initial",
      Reason: "Elb.InitialHealthChecking",
      Description: "Initial health checks in progress",
    });
    const healthy = run([ok, ok, ok]);
    assert.equal(healthy.state, "healthy");
    assert.equal(run([mismatch], healthy).state, "healthy");
    const sick = run([mismatch, mismatch], healthy);
    assert.deepEqual(describeHealth(sick), {
      State: "unhealthy",
      Reason: "Target.ResponseCodeMismatch",
      Description: "Health checks failed with these codes: [404]",
    });
    // A success in between resets the count.
    assert.equal(run([ok, ok, mismatch, ok]).state, "initial");
    assert.equal(run([ok, ok, ok], sick).state, "healthy");
    assert.equal(
      describeHealth(
        run([
          { ok: false, reason: "Target.Timeout" },
          { ok: false, reason: "Target.Timeout" },
        ]),
      ).Reason,
      "Target.Timeout",
    );
  });
});
