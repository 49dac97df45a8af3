// The service reconciler's planner, in-process and without a store: rolling-update bounds,
// scale-in order, protected tasks, the circuit breaker and rollback, backoff, health
// replacement and deployment completion, each asserted on the plan it returns.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Deployment, Service, Task } from "@aws-sdk/client-ecs";
import {
  failureThreshold,
  planService,
  type ServiceObservation,
} from "../../../src/control/service-plan.js";

const NOW = new Date("2026-01-01T00:00:00Z");
const OLD: Deployment = { id: "ecs-svc/old", status: "ACTIVE", taskDefinition: "td:1" };
const NEW: Deployment = {
  id: "ecs-svc/new",
  status: "PRIMARY",
  taskDefinition: "td:2",
  rolloutState: "IN_PROGRESS",
};

function task(id: string, deployment: Deployment, extra: Partial<Task> = {}): Task {
  return {
    taskArn: `arn:aws:ecs:us-east-1:000000000000:task/c/${id}`,
    startedBy: deployment.id,
    lastStatus: "RUNNING",
    startedAt: new Date(NOW.getTime() - 3_600_000),
    ...extra,
  };
}

function observe(
  active: Task[],
  desiredCount: number,
  extra: Partial<ServiceObservation> & { config?: Service["deploymentConfiguration"] } = {},
): ServiceObservation {
  const { config, ...rest } = extra;
  return {
    service: {
      serviceName: "web",
      deployments: [structuredClone(NEW), structuredClone(OLD)],
      deploymentConfiguration: config ?? { minimumHealthyPercent: 100, maximumPercent: 200 },
    },
    extras: {},
    status: "ACTIVE",
    desiredCount,
    active,
    stoppedFailures: new Map(),
    balanced: false,
    targetHealth: new Map(),
    protectedArns: new Set(),
    now: NOW,
    newDeploymentId: () => "ecs-svc/rollback",
    ...rest,
  };
}

const ids = (plan: { stops: { task: Task }[] }): string[] =>
  plan.stops.map((s) => s.task.taskArn?.split("/").pop() ?? "");

describe("service planner", () => {
  it("rolls out within maximumPercent and never under minimumHealthyPercent", () => {
    const old = ["a", "b", "c", "d"].map((id) => task(id, OLD));
    // 100/200: all four new tasks start at once, no old task stops yet.
    const wide = planService(observe(old, 4));
    assert.deepEqual(wide.launch?.count, 4);
    assert.equal(wide.launch?.deployment.id, NEW.id);
    assert.deepEqual(ids(wide), []);
    // 50/100: no room to start; two old tasks stop, two keep serving.
    const narrow = planService(
      observe(old, 4, { config: { minimumHealthyPercent: 50, maximumPercent: 100 } }),
    );
    assert.equal(narrow.launch, undefined);
    assert.equal(narrow.stops.length, 2);
    assert.ok(narrow.stops.every((s) => s.reason === `Task stopped by deployment ${NEW.id}`));
    // 50/150: two new start (room 6-4), two old stop.
    const mid = planService(
      observe(old, 4, { config: { minimumHealthyPercent: 50, maximumPercent: 150 } }),
    );
    assert.equal(mid.launch?.count, 2);
    assert.equal(mid.stops.length, 2);
    assert.equal(mid.remaining, 2);
  });

  it("stops old tasks that do not run yet before running ones", () => {
    const plan = planService(
      observe([task("r1", OLD), task("p1", OLD, { lastStatus: "PENDING" })], 2, {
        config: { minimumHealthyPercent: 100, maximumPercent: 100 },
      }),
    );
    assert.deepEqual(ids(plan), ["p1"]);
  });

  it("scales in the PRIMARY's surplus, pending first, and spares protected tasks", () => {
    const active = [
      task("r1", NEW),
      task("r2", NEW),
      task("p1", NEW, { lastStatus: "PENDING" }),
      task("r3", NEW),
    ];
    const plain = planService(observe(active, 2));
    assert.deepEqual(ids(plain).sort(), ["p1", "r1"]);
    assert.ok(plain.stops.every((s) => s.reason.startsWith("Scaling activity initiated by")));
    const guarded = planService(
      observe(active, 2, {
        protectedArns: new Set([active[0]!.taskArn!, active[2]!.taskArn!]),
      }),
    );
    assert.deepEqual(ids(guarded).sort(), ["r2", "r3"]);
    // A deleted (DRAINING) service stops every task, protected or not.
    const draining = planService(
      observe(active, 2, { status: "DRAINING", protectedArns: new Set([active[0]!.taskArn!]) }),
    );
    assert.equal(draining.stops.length, 4);
    assert.equal(draining.remaining, 0);
    assert.equal(draining.launch, undefined);
  });

  it("trips the circuit breaker at the threshold and rolls back to the last completed definition", () => {
    assert.deepEqual([1, 4, 10, 1000].map(failureThreshold), [3, 3, 5, 200]);
    const config = {
      minimumHealthyPercent: 100,
      maximumPercent: 200,
      deploymentCircuitBreaker: { enable: true, rollback: true },
    };
    const below = planService(observe([], 4, { config, stoppedFailures: new Map([[NEW.id!, 2]]) }));
    assert.equal(below.service.deployments?.[0]?.rolloutState, "IN_PROGRESS");
    assert.equal(below.launch?.deployment.id, NEW.id);
    const plan = planService(
      observe([task("o1", OLD), task("n1", NEW)], 4, {
        config,
        stoppedFailures: new Map([[NEW.id!, 3]]),
        extras: { lastCompletedTaskDefinition: "td:1" },
      }),
    );
    const failed = plan.service.deployments?.find((d) => d.id === NEW.id);
    assert.equal(failed?.rolloutState, "FAILED");
    assert.equal(failed?.status, "ACTIVE");
    assert.equal(plan.service.taskDefinition, "td:1");
    assert.equal(plan.launch?.deployment.id, "ecs-svc/rollback");
    assert.equal(plan.launch?.deployment.taskDefinition, "td:1");
    assert.match(plan.events.join("\n"), /deployment failed: tasks failed to start/);
    assert.match(plan.events.join("\n"), /rolling back to deployment ecs-svc\/rollback/);
    // Without rollback the failed deployment launches nothing more.
    const stuck = planService(
      observe([], 4, {
        config: { ...config, deploymentCircuitBreaker: { enable: true, rollback: false } },
        stoppedFailures: new Map([[NEW.id!, 3]]),
      }),
    );
    assert.equal(stuck.launch, undefined);
  });

  it("backs off launches after failures in a row", () => {
    const plan = planService(observe([], 2, { stoppedFailures: new Map([[NEW.id!, 3]]) }));
    assert.equal(plan.extras.consecutiveFailures, 3);
    assert.equal(plan.extras.backoffUntil, NOW.getTime() + 2000);
    const waiting = planService(observe([], 2, { extras: { backoffUntil: NOW.getTime() + 1 } }));
    assert.equal(waiting.launch, undefined);
  });

  it("replaces tasks unhealthy past the grace period, by container or load balancer health", () => {
    const young = task("young", NEW, {
      healthStatus: "UNHEALTHY",
      startedAt: new Date(NOW.getTime() - 1000),
    });
    const sick = task("sick", NEW, { healthStatus: "UNHEALTHY" });
    const lbSick = task("lb", NEW);
    const observed = observe([young, sick, lbSick], 3, {
      balanced: true,
      targetHealth: new Map([
        [lbSick.taskArn!, "unhealthy"],
        [young.taskArn!, "healthy"],
        [sick.taskArn!, "healthy"],
      ]),
    });
    observed.service.healthCheckGracePeriodSeconds = 60;
    observed.service.loadBalancers = [{ targetGroupArn: "tg-1" }];
    const plan = planService(observed);
    assert.deepEqual(ids(plan), ["sick", "lb"]);
    assert.equal(plan.stops[0]?.reason, "Task failed container health checks");
    assert.equal(plan.stops[1]?.reason, "Task failed ELB health checks in (target-group tg-1)");
  });

  it("completes the deployment once its tasks run (and serve), then reports a steady state", () => {
    const active = [task("n1", NEW), task("n2", NEW)];
    const balanced = planService(
      observe(active, 2, {
        balanced: true,
        targetHealth: new Map([[active[0]!.taskArn!, "healthy"]]),
      }),
    );
    assert.equal(balanced.service.deployments?.[0]?.rolloutState, "IN_PROGRESS");
    const input = observe(active, 2);
    const plan = planService(input);
    const primary = plan.service.deployments?.[0];
    assert.equal(primary?.rolloutState, "COMPLETED");
    assert.equal(primary?.runningCount, 2);
    assert.equal(plan.extras.lastCompletedTaskDefinition, "td:2");
    assert.deepEqual(
      plan.service.deployments?.map((d) => d.id),
      [NEW.id],
      "the old deployment with no tasks is over",
    );
    assert.match(plan.events.at(-1) ?? "", /has reached a steady state/);
    // The planner is pure: the observation is left as it was.
    assert.equal(input.service.deployments?.[0]?.rolloutState, "IN_PROGRESS");
    assert.equal(input.extras.steady, undefined);
  });
});
