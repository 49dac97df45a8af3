// Service auto scaling on real containers: a target tracking CPU policy scales a service of
// busy-looping busybox tasks out, and back in to its minimum once they go quiet; `/metrics`
// carries the tasks' real cgroup CPU and memory; the Debian AWS CLI drives the API; a
// scheduled action moves the target's bounds at its time. `berth up --metric-period-seconds 1`
// makes AWS's minute datapoints one second long.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import type { Task } from "@aws-sdk/client-ecs";
import {
  ApplicationAutoScalingClient,
  DescribeScalableTargetsCommand,
  DescribeScalingActivitiesCommand,
  PutScalingPolicyCommand,
  PutScheduledActionCommand,
  RegisterScalableTargetCommand,
  type ScalingActivity,
} from "@aws-sdk/client-application-auto-scaling";
import {
  CreateServiceCommand,
  DeleteServiceCommand,
  DescribeServicesCommand,
  DescribeTasksCommand,
  ECSClient,
  GetTaskProtectionCommand,
  ListTasksCommand,
  UpdateServiceCommand,
  UpdateTaskProtectionCommand,
  RegisterTaskDefinitionCommand,
  type Service,
} from "@aws-sdk/client-ecs";
import {
  BERTH_BIN,
  pushBusyboxImage,
  startBerthProcess,
  type BerthProcess,
  until as pollUntil,
  recentWarnings,
} from "../../src/testing/index.js";

const run = promisify(execFile);
/** The Debian awscli package's binary; an older `aws` may come first on PATH. */
const AWS = "/usr/bin/aws";

let berth: BerthProcess;
let ecs: ECSClient;
let scaling: ApplicationAutoScalingClient;
let image: string;

before(async () => {
  berth = await startBerthProcess({ args: ["--metric-period-seconds", "1"] });
  ecs = new ECSClient(berth.clientConfig);
  scaling = new ApplicationAutoScalingClient(berth.clientConfig);
  image = (await pushBusyboxImage(berth, "busybox")).uri;
});
after(async () => {
  ecs.destroy();
  scaling.destroy();
  await berth.stop();
});

async function aws(args: string[]): Promise<unknown> {
  const { stdout } = await run(
    AWS,
    ["--endpoint-url", berth.endpoint, "--output", "json", ...args],
    { env: berth.awsEnv },
  );
  return stdout.trim() === "" ? {} : (JSON.parse(stdout) as unknown);
}

async function awsFailure(args: string[]): Promise<string> {
  try {
    await aws(args);
  } catch (error) {
    return (error as { stderr: string }).stderr.trim();
  }
  assert.fail("expected the aws command to fail");
}

/** Polls until `check` holds (a bounded wait, not a timing assertion). */
function until<T>(
  what: string,
  probe: () => Promise<T>,
  check: (value: T) => boolean,
  timeoutMs = 120_000,
): Promise<T> {
  return pollUntil(what, probe, check, {
    timeoutMs,
    everyMs: 250,
    context: () => recentWarnings(berth.output()),
  });
}

/** Tasks that burn their whole CPU quota until `busyUntil` (epoch seconds), then idle. */
async function createService(name: string, busyUntil: number, desiredCount: number): Promise<void> {
  const { taskDefinition } = await ecs.send(
    new RegisterTaskDefinitionCommand({
      family: name,
      requiresCompatibilities: ["FARGATE"],
      networkMode: "awsvpc",
      cpu: "256",
      memory: "512",
      containerDefinitions: [
        {
          name: "app",
          image,
          essential: true,
          stopTimeout: 2,
          command: [
            "sh",
            "-c",
            `trap 'exit 0' TERM; while [ "$(date +%s)" -lt ${busyUntil} ]; do :; done; while true; do sleep 0.2; done`,
          ],
        },
      ],
    }),
  );
  await ecs.send(
    new CreateServiceCommand({
      serviceName: name,
      taskDefinition: taskDefinition?.taskDefinitionArn,
      desiredCount,
    }),
  );
}

async function describeService(name: string): Promise<Service> {
  const { services = [] } = await ecs.send(new DescribeServicesCommand({ services: [name] }));
  assert.ok(services[0] !== undefined);
  return services[0];
}

async function runningTasks(name: string): Promise<Task[]> {
  const { taskArns = [] } = await ecs.send(
    new ListTasksCommand({ serviceName: name, desiredStatus: "RUNNING" }),
  );
  if (taskArns.length === 0) return [];
  const { tasks = [] } = await ecs.send(new DescribeTasksCommand({ tasks: taskArns }));
  return tasks.filter((t) => t.lastStatus === "RUNNING");
}

async function activities(
  resourceId: string,
  includeNotScaled = false,
): Promise<ScalingActivity[]> {
  const { ScalingActivities = [] } = await scaling.send(
    new DescribeScalingActivitiesCommand({
      ServiceNamespace: "ecs",
      ResourceId: resourceId,
      IncludeNotScaledActivities: includeNotScaled,
    }),
  );
  return ScalingActivities;
}

async function removeService(name: string): Promise<void> {
  await ecs.send(new DeleteServiceCommand({ service: name, force: true }));
  await until(
    `${name} drained`,
    () => describeService(name),
    (s) => (s.runningCount ?? 0) + (s.pendingCount ?? 0) === 0,
  );
}

/** Prometheus text: `name{labels} value` samples, with every line checked against the format. */
function parsePrometheus(
  text: string,
): Array<{ name: string; labels: Record<string, string>; value: number }> {
  const samples: Array<{ name: string; labels: Record<string, string>; value: number }> = [];
  for (const line of text.split("\n")) {
    if (line === "" || /^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* /.test(line)) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(match !== null, `not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key = "", value = ""] of (match[2] ?? "").matchAll(
      /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g,
    ))
      labels[key] = value;
    const value = Number(match[3]);
    assert.ok(!Number.isNaN(value), `not a number: ${line}`);
    samples.push({ name: match[1] ?? "", labels, value });
  }
  return samples;
}

describe("target tracking on CPU", () => {
  it("scales a busy service out, and back in to its minimum once quiet", async () => {
    const resourceId = "service/default/busy";
    // Busy long enough to reach the maximum and be held there on a loaded machine.
    await createService("busy", Math.floor(Date.now() / 1000) + 90, 1);
    await scaling.send(
      new RegisterScalableTargetCommand({
        ServiceNamespace: "ecs",
        ResourceId: resourceId,
        ScalableDimension: "ecs:service:DesiredCount",
        MinCapacity: 1,
        MaxCapacity: 3,
      }),
    );
    const { Alarms = [] } = await scaling.send(
      new PutScalingPolicyCommand({
        PolicyName: "cpu50",
        ServiceNamespace: "ecs",
        ResourceId: resourceId,
        ScalableDimension: "ecs:service:DesiredCount",
        PolicyType: "TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration: {
          TargetValue: 50,
          PredefinedMetricSpecification: {
            PredefinedMetricType: "ECSServiceAverageCPUUtilization",
          },
          ScaleOutCooldown: 5,
          ScaleInCooldown: 5,
        },
      }),
    );
    assert.deepEqual(
      Alarms.map(
        (a) =>
          /^TargetTracking-service\/default\/busy-(AlarmHigh|AlarmLow)-/.exec(
            a.AlarmName ?? "",
          )?.[1],
      ),
      ["AlarmHigh", "AlarmLow"],
    );

    // Busy: the metric is over the target for 3 datapoints, and the service scales out.
    const out = await until(
      "a scale-out",
      () => describeService("busy"),
      (s) => (s.desiredCount ?? 0) > 1,
    );
    assert.ok((out.desiredCount ?? 0) <= 3);
    const scaledOut = (await activities(resourceId)).find((a) => a.Cause?.includes("AlarmHigh"));
    assert.ok(scaledOut !== undefined);
    assert.match(scaledOut.Description ?? "", /^Setting desired count to [23]\.$/);
    assert.match(
      scaledOut.Cause ?? "",
      /^monitor alarm TargetTracking-service\/default\/busy-AlarmHigh-\S+ in state ALARM triggered policy cpu50$/,
    );
    assert.equal(scaledOut.StatusCode, "Successful");

    // `/metrics` carries the busy task's CPU as measured in its cgroup: near its whole quota.
    const metrics = await until(
      "busy task metrics",
      async () => {
        const res = await fetch(`${berth.endpoint}/metrics`);
        assert.equal(res.status, 200);
        assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
        return parsePrometheus(await res.text());
      },
      // The datapoint after the scale-out carries the new desired count.
      (samples) =>
        samples.some(
          (s) =>
            s.name === "berth_service_desired_tasks" && s.labels.service === "busy" && s.value > 1,
        ) &&
        samples.some(
          (s) =>
            s.name === "berth_task_cpu_utilization_percent" &&
            s.labels.service === "busy" &&
            s.value > 60,
        ) &&
        // The busy container's own cgroup: most of the task's 256 units.
        samples.some(
          (s) =>
            s.name === "berth_container_cpu_units" &&
            s.labels.service === "busy" &&
            s.labels.container === "app" &&
            s.value > 150,
        ),
      30_000,
    );
    const memory = metrics.filter(
      (s) => s.name === "berth_task_memory_utilization_percent" && s.labels.service === "busy",
    );
    assert.ok(memory.length > 0 && memory.every((s) => s.value > 0 && s.value < 100));
    assert.ok(
      metrics.some(
        (s) => s.name === "berth_service_cpu_utilization_percent" && s.labels.service === "busy",
      ),
    );

    // `berth top` shows the service from the same endpoint, with figures once a metric period
    // holds the service's samples (just after a scale-out the newest may not yet: then "-").
    const table = await until(
      "berth top showing the busy service's CPU and memory",
      async () =>
        (await run(process.execPath, [BERTH_BIN, "top", "--once", "--endpoint", berth.endpoint]))
          .stdout,
      (text) => /^default\/busy +[23] +\d+ +\d+ +\d+\.\d +\d+\.\d +-$/m.test(text),
      30_000,
    );
    assert.match(table, /^SERVICE +DESIRED +RUNNING +PENDING +CPU% +MEM% +REQ\/S$/m);

    // Scale-in protection: the oldest task, the one scale-in would stop first, is protected.
    const [oldest] = (await runningTasks("busy")).sort(
      (a, b) => (a.createdAt?.getTime() ?? 0) - (b.createdAt?.getTime() ?? 0),
    );
    assert.ok(oldest?.taskArn !== undefined);
    const { protectedTasks = [] } = await ecs.send(
      new UpdateTaskProtectionCommand({
        cluster: "default",
        tasks: [oldest.taskArn],
        protectionEnabled: true,
        expiresInMinutes: 60,
      }),
    );
    assert.equal(protectedTasks[0]?.protectionEnabled, true);
    const got = await ecs.send(
      new GetTaskProtectionCommand({
        cluster: "default",
        tasks: [oldest.taskArn, "0123456789abcdef0123456789abcdef"],
      }),
    );
    assert.equal(got.protectedTasks?.[0]?.protectionEnabled, true);
    assert.ok((got.protectedTasks?.[0]?.expirationDate?.getTime() ?? 0) > Date.now() + 59 * 60_000);
    assert.equal(got.failures?.[0]?.reason, "MISSING");

    // Still busy at the maximum: the alarm's scale-out is blocked, a "not scaled" activity that
    // only IncludeNotScaledActivities shows.
    const blocked = await until(
      "a not scaled activity at the maximum",
      async () =>
        (await activities(resourceId, true)).find(
          (a) => a.NotScaledReasons?.[0]?.Code === "AlreadyAtMaxCapacity",
        ),
      (a) => a !== undefined,
      60_000,
    );
    assert.deepEqual(blocked?.NotScaledReasons, [{ Code: "AlreadyAtMaxCapacity", MaxCapacity: 3 }]);
    assert.equal(blocked?.Description, "Attempting to scale due to alarm triggered");
    assert.equal(blocked?.StatusCode, "Failed");
    assert.ok((await activities(resourceId)).every((a) => a.NotScaledReasons === undefined));

    // Quiet: 15 datapoints under 90% of the target, and it scales in to the minimum.
    await until(
      "the scale-in to the minimum",
      () => describeService("busy"),
      (s) => s.desiredCount === 1 && s.runningCount === 1,
      180_000,
    );
    const survivors = await runningTasks("busy");
    assert.deepEqual(
      survivors.map((t) => t.taskArn),
      [oldest.taskArn],
      "the protected task is not chosen for scale-in",
    );
    const scaledIn = (await activities(resourceId)).find((a) => a.Cause?.includes("AlarmLow"));
    assert.ok(scaledIn !== undefined);
    assert.match(scaledIn.Description ?? "", /^Setting desired count to [12]\.$/);
    await removeService("busy");
  });
});

describe("task protection during a deployment", () => {
  it("keeps a protected task of the old deployment until its protection is removed", async () => {
    await createService("guarded", 0, 1);
    await until(
      "the first task",
      () => runningTasks("guarded"),
      (t) => t.length === 1,
    );
    const [first] = await runningTasks("guarded");
    assert.ok(first?.taskArn !== undefined);
    await ecs.send(
      new UpdateTaskProtectionCommand({
        cluster: "default",
        tasks: [first.taskArn],
        protectionEnabled: true,
      }),
    );
    await ecs.send(new UpdateServiceCommand({ service: "guarded", forceNewDeployment: true }));
    await until(
      "the new deployment's task",
      () => runningTasks("guarded"),
      (t) => t.some((task) => task.taskArn !== first.taskArn),
    );
    // A few reconciler passes (one a second) would have stopped the old task by now.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const during = await runningTasks("guarded");
    assert.ok(
      during.some((t) => t.taskArn === first.taskArn),
      "the protected task still runs",
    );
    assert.equal((await describeService("guarded")).deployments?.length, 2);

    await ecs.send(
      new UpdateTaskProtectionCommand({
        cluster: "default",
        tasks: [first.taskArn],
        protectionEnabled: false,
      }),
    );
    await until(
      "the old task stopped once unprotected",
      () => runningTasks("guarded"),
      (t) => t.length === 1 && t[0]?.taskArn !== first.taskArn,
    );
    await removeService("guarded");
  });
});

describe("scheduled actions", () => {
  it("set the target's min and max at their time, and the desired count follows", async () => {
    const resourceId = "service/default/sched";
    await createService("sched", 0, 1);
    await scaling.send(
      new RegisterScalableTargetCommand({
        ServiceNamespace: "ecs",
        ResourceId: resourceId,
        ScalableDimension: "ecs:service:DesiredCount",
        MinCapacity: 1,
        MaxCapacity: 1,
      }),
    );
    const at = new Date(Date.now() + 10_000);
    const stamp = at.toISOString().slice(0, 19);
    await scaling.send(
      new PutScheduledActionCommand({
        ServiceNamespace: "ecs",
        ResourceId: resourceId,
        ScalableDimension: "ecs:service:DesiredCount",
        ScheduledActionName: "morning",
        Schedule: `at(${stamp})`,
        ScalableTargetAction: { MinCapacity: 2, MaxCapacity: 4 },
      }),
    );
    await until(
      "the scheduled bounds",
      async () =>
        (
          await scaling.send(
            new DescribeScalableTargetsCommand({
              ServiceNamespace: "ecs",
              ResourceIds: [resourceId],
            }),
          )
        ).ScalableTargets?.[0],
      (t) => t?.MinCapacity === 2 && t.MaxCapacity === 4,
      30_000,
    );
    await until(
      "the desired count raised to the new minimum",
      () => describeService("sched"),
      (s) => s.desiredCount === 2 && s.runningCount === 2,
      60_000,
    );
    const causes = (await activities(resourceId)).map((a) => a.Cause);
    assert.ok(causes.includes("scheduled action name morning was triggered"));
    await removeService("sched");
  });
});

describe("aws application-autoscaling", () => {
  it("registers, describes and deregisters a target, policies and scheduled actions", async () => {
    await createService("cli", 0, 0);
    const id = [
      "--service-namespace",
      "ecs",
      "--resource-id",
      "service/default/cli",
      "--scalable-dimension",
      "ecs:service:DesiredCount",
    ];
    await aws([
      "application-autoscaling",
      "register-scalable-target",
      ...id,
      "--min-capacity",
      "0",
      "--max-capacity",
      "5",
    ]);
    const targets = (await aws([
      "application-autoscaling",
      "describe-scalable-targets",
      "--service-namespace",
      "ecs",
      "--resource-ids",
      "service/default/cli",
    ])) as {
      ScalableTargets: Array<{ MinCapacity: number; MaxCapacity: number; RoleARN: string }>;
    };
    assert.equal(targets.ScalableTargets.length, 1);
    assert.equal(targets.ScalableTargets[0]?.MaxCapacity, 5);

    const policy = (await aws([
      "application-autoscaling",
      "put-scaling-policy",
      ...id,
      "--policy-name",
      "mem70",
      "--policy-type",
      "TargetTrackingScaling",
      "--target-tracking-scaling-policy-configuration",
      JSON.stringify({
        TargetValue: 70,
        PredefinedMetricSpecification: {
          PredefinedMetricType: "ECSServiceAverageMemoryUtilization",
        },
        DisableScaleIn: true,
      }),
    ])) as { PolicyARN: string; Alarms: unknown[] };
    assert.match(
      policy.PolicyARN,
      /^arn:aws:autoscaling:us-east-1:\d{12}:scalingPolicy:[0-9a-f-]{36}:resource\/ecs\/service\/default\/cli:policyName\/mem70$/,
    );
    assert.equal(policy.Alarms.length, 2);
    await aws([
      "application-autoscaling",
      "put-scaling-policy",
      ...id,
      "--policy-name",
      "steps",
      "--policy-type",
      "StepScaling",
      "--step-scaling-policy-configuration",
      JSON.stringify({
        AdjustmentType: "ChangeInCapacity",
        Cooldown: 60,
        StepAdjustments: [{ MetricIntervalLowerBound: 0, ScalingAdjustment: 1 }],
      }),
    ]);
    const policies = (await aws([
      "application-autoscaling",
      "describe-scaling-policies",
      "--service-namespace",
      "ecs",
      "--resource-id",
      "service/default/cli",
    ])) as {
      ScalingPolicies: Array<{ PolicyName: string; PolicyType: string }>;
    };
    assert.deepEqual(
      policies.ScalingPolicies.map((p) => `${p.PolicyName}:${p.PolicyType}`),
      ["mem70:TargetTrackingScaling", "steps:StepScaling"],
    );

    await aws([
      "application-autoscaling",
      "put-scheduled-action",
      ...id,
      "--scheduled-action-name",
      "nightly",
      "--schedule",
      "cron(0 22 ? * MON-FRI *)",
      "--timezone",
      "Europe/Paris",
      "--scalable-target-action",
      "MinCapacity=0,MaxCapacity=2",
    ]);
    const actions = (await aws([
      "application-autoscaling",
      "describe-scheduled-actions",
      "--service-namespace",
      "ecs",
      "--resource-id",
      "service/default/cli",
    ])) as {
      ScheduledActions: Array<{ Schedule: string; Timezone: string; ScheduledActionARN: string }>;
    };
    assert.equal(actions.ScheduledActions[0]?.Schedule, "cron(0 22 ? * MON-FRI *)");
    assert.equal(actions.ScheduledActions[0]?.Timezone, "Europe/Paris");

    // Bad input: AWS's error codes, printed by the CLI.
    assert.match(
      await awsFailure([
        "application-autoscaling",
        "put-scheduled-action",
        ...id,
        "--scheduled-action-name",
        "bad",
        "--schedule",
        "cron(0 22 * * MON *)",
      ]),
      /ValidationException/,
    );
    assert.match(
      await awsFailure([
        "application-autoscaling",
        "register-scalable-target",
        ...id,
        "--min-capacity",
        "4",
        "--max-capacity",
        "2",
      ]),
      /\(ValidationException\).*Minimum capacity cannot be greater than maximum capacity/,
    );
    assert.match(
      await awsFailure([
        "application-autoscaling",
        "delete-scaling-policy",
        ...id,
        "--policy-name",
        "nope",
      ]),
      /\(ObjectNotFoundException\).*No scaling policy found for service namespace: ecs, resource ID: service\/default\/cli, scalable dimension: ecs:service:DesiredCount, policy name: nope/,
    );
    assert.match(
      await awsFailure([
        "application-autoscaling",
        "register-scalable-target",
        "--service-namespace",
        "ecs",
        "--resource-id",
        "service/default/missing",
        "--scalable-dimension",
        "ecs:service:DesiredCount",
        "--min-capacity",
        "1",
        "--max-capacity",
        "2",
      ]),
      /\(ValidationException\).*ECS service doesn't exist: service\/default\/missing/,
    );

    await aws([
      "application-autoscaling",
      "delete-scheduled-action",
      ...id,
      "--scheduled-action-name",
      "nightly",
    ]);
    await aws([
      "application-autoscaling",
      "delete-scaling-policy",
      ...id,
      "--policy-name",
      "steps",
    ]);
    await aws(["application-autoscaling", "deregister-scalable-target", ...id]);
    const gone = (await aws([
      "application-autoscaling",
      "describe-scaling-policies",
      "--service-namespace",
      "ecs",
      "--resource-id",
      "service/default/cli",
    ])) as { ScalingPolicies: unknown[] };
    assert.equal(gone.ScalingPolicies.length, 0, "deregistering a target deletes its policies");
    assert.match(
      await awsFailure(["application-autoscaling", "deregister-scalable-target", ...id]),
      /\(ObjectNotFoundException\).*No scalable target found/,
    );
    await ecs.send(new DeleteServiceCommand({ service: "cli", force: true }));
  });
});
