// Application Auto Scaling through the real AWS SDK against an in-process Berth: the records,
// their updates and paging, and AWS's error codes and texts for bad input.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  ApplicationAutoScalingClient,
  DeleteScheduledActionCommand,
  DeregisterScalableTargetCommand,
  DescribeScalableTargetsCommand,
  DescribeScalingPoliciesCommand,
  DescribeScheduledActionsCommand,
  PutScalingPolicyCommand,
  PutScheduledActionCommand,
  RegisterScalableTargetCommand,
  type PutScalingPolicyCommandInput,
} from "@aws-sdk/client-application-auto-scaling";
import {
  CreateServiceCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
} from "@aws-sdk/client-ecs";
import { startBerthInProcess, type TestBerth, rejectsWith } from "../../../../src/testing/index.js";

let berth: TestBerth;
let scaling: ApplicationAutoScalingClient;

const ID = {
  ServiceNamespace: "ecs" as const,
  ResourceId: "service/default/web",
  ScalableDimension: "ecs:service:DesiredCount" as const,
};

before(async () => {
  berth = await startBerthInProcess();
  scaling = new ApplicationAutoScalingClient(berth.clientConfig);
  const ecs = new ECSClient(berth.clientConfig);
  const { taskDefinition } = await ecs.send(
    new RegisterTaskDefinitionCommand({
      family: "web",
      requiresCompatibilities: ["FARGATE"],
      networkMode: "awsvpc",
      cpu: "256",
      memory: "512",
      containerDefinitions: [{ name: "app", image: "busybox" }],
    }),
  );
  for (const serviceName of ["web", "api"])
    await ecs.send(
      new CreateServiceCommand({
        serviceName,
        taskDefinition: taskDefinition?.taskDefinitionArn,
        desiredCount: 0,
      }),
    );
  ecs.destroy();
});
after(async () => {
  scaling.destroy();
  await berth.stop();
});

const tracking = (name: string, config: object): PutScalingPolicyCommandInput => ({
  ...ID,
  PolicyName: name,
  PolicyType: "TargetTrackingScaling",
  TargetTrackingScalingPolicyConfiguration: { TargetValue: 50, ...config },
});

describe("scalable targets", () => {
  it("registers, updates in place and describes with the ECS service-linked role", async () => {
    const { ScalableTargetARN } = await scaling.send(
      new RegisterScalableTargetCommand({ ...ID, MinCapacity: 1, MaxCapacity: 4 }),
    );
    assert.match(
      ScalableTargetARN ?? "",
      /^arn:aws:application-autoscaling:us-east-1:000000000000:scalable-target\/[0-9a-f]{36}$/,
    );
    const again = await scaling.send(
      new RegisterScalableTargetCommand({
        ...ID,
        MaxCapacity: 6,
        SuspendedState: { DynamicScalingInSuspended: true },
      }),
    );
    assert.equal(again.ScalableTargetARN, ScalableTargetARN);
    const { ScalableTargets = [] } = await scaling.send(
      new DescribeScalableTargetsCommand({ ServiceNamespace: "ecs" }),
    );
    assert.equal(ScalableTargets.length, 1);
    const [target] = ScalableTargets;
    assert.equal(target?.MinCapacity, 1);
    assert.equal(target?.MaxCapacity, 6);
    assert.deepEqual(target?.SuspendedState, {
      DynamicScalingInSuspended: true,
      DynamicScalingOutSuspended: false,
      ScheduledScalingSuspended: false,
    });
    assert.match(target?.RoleARN ?? "", /AWSServiceRoleForApplicationAutoScaling_ECSService$/);
    assert.ok(target?.CreationTime instanceof Date);
  });

  it("refuses what AWS refuses", async () => {
    await rejectsWith(
      scaling.send(new RegisterScalableTargetCommand({ ...ID, MinCapacity: 5, MaxCapacity: 2 })),
      "ValidationException",
      /^Minimum capacity cannot be greater than maximum capacity$/,
    );
    await rejectsWith(
      scaling.send(
        new RegisterScalableTargetCommand({
          ...ID,
          ResourceId: "service/default/nope",
          MinCapacity: 1,
          MaxCapacity: 2,
        }),
      ),
      "ValidationException",
      /^ECS service doesn't exist: service\/default\/nope$/,
    );
    await rejectsWith(
      scaling.send(new RegisterScalableTargetCommand({ ...ID, ResourceId: "service/default/api" })),
      "ValidationException",
      /MinCapacity and MaxCapacity are required/,
    );
    await rejectsWith(
      scaling.send(
        new RegisterScalableTargetCommand({
          ServiceNamespace: "dynamodb",
          ResourceId: "table/t",
          ScalableDimension: "dynamodb:table:ReadCapacityUnits",
          MinCapacity: 1,
          MaxCapacity: 2,
        }),
      ),
      "ValidationException",
      /ecs service namespace only/,
    );
    await rejectsWith(
      scaling.send(new DescribeScalableTargetsCommand({ ServiceNamespace: "ecs", MaxResults: 51 })),
      "ValidationException",
      /Member must have value less than or equal to 50/,
    );
  });
});

describe("scaling policies", () => {
  it("creates target tracking with AWS's two alarms; an update keeps ARN and alarms", async () => {
    const first = await scaling.send(
      new PutScalingPolicyCommand(
        tracking("cpu", {
          PredefinedMetricSpecification: {
            PredefinedMetricType: "ECSServiceAverageCPUUtilization",
          },
        }),
      ),
    );
    assert.match(
      first.PolicyARN ?? "",
      /^arn:aws:autoscaling:us-east-1:000000000000:scalingPolicy:[0-9a-f-]{36}:resource\/ecs\/service\/default\/web:policyName\/cpu$/,
    );
    assert.deepEqual(
      first.Alarms?.map(
        (a) =>
          /^TargetTracking-service\/default\/web-(AlarmHigh|AlarmLow)-[0-9a-f-]{36}$/.exec(
            a.AlarmName ?? "",
          )?.[1],
      ),
      ["AlarmHigh", "AlarmLow"],
    );
    assert.ok(
      first.Alarms?.every(
        (a) => a.AlarmARN === `arn:aws:cloudwatch:us-east-1:000000000000:alarm:${a.AlarmName}`,
      ),
    );
    const second = await scaling.send(
      new PutScalingPolicyCommand(
        tracking("cpu", {
          TargetValue: 70,
          PredefinedMetricSpecification: {
            PredefinedMetricType: "ECSServiceAverageCPUUtilization",
          },
        }),
      ),
    );
    assert.equal(second.PolicyARN, first.PolicyARN);
    assert.deepEqual(second.Alarms, first.Alarms);
    await scaling.send(
      new PutScalingPolicyCommand(
        tracking("alb", {
          PredefinedMetricSpecification: {
            PredefinedMetricType: "ALBRequestCountPerTarget",
            ResourceLabel: "app/web/0123456789abcdef/targetgroup/web/fedcba9876543210",
          },
        }),
      ),
    );
    const page1 = await scaling.send(
      new DescribeScalingPoliciesCommand({
        ServiceNamespace: "ecs",
        ResourceId: ID.ResourceId,
        MaxResults: 1,
      }),
    );
    assert.equal(page1.ScalingPolicies?.[0]?.PolicyName, "cpu");
    assert.equal(
      page1.ScalingPolicies?.[0]?.TargetTrackingScalingPolicyConfiguration?.TargetValue,
      70,
    );
    assert.ok(page1.NextToken !== undefined);
    const page2 = await scaling.send(
      new DescribeScalingPoliciesCommand({ ServiceNamespace: "ecs", NextToken: page1.NextToken }),
    );
    assert.deepEqual(
      page2.ScalingPolicies?.map((p) => p.PolicyName),
      ["alb"],
    );
    assert.equal(page2.NextToken, undefined);
  });

  it("refuses bad policies with ValidationException or ObjectNotFoundException", async () => {
    const cpu = {
      PredefinedMetricSpecification: {
        PredefinedMetricType: "ECSServiceAverageCPUUtilization" as const,
      },
    };
    await rejectsWith(
      scaling.send(
        new PutScalingPolicyCommand({ ...tracking("x", cpu), ResourceId: "service/default/api" }),
      ),
      "ObjectNotFoundException",
      /^No scalable target registered for service namespace: ecs, resource ID: service\/default\/api, scalable dimension: ecs:service:DesiredCount$/,
    );
    await rejectsWith(
      scaling.send(new PutScalingPolicyCommand(tracking("bad\u0001name", cpu))),
      "ValidationException",
      /at 'PolicyName' failed to satisfy constraint: Member must satisfy regular expression pattern/,
    );
    await rejectsWith(
      scaling.send(
        new PutScalingPolicyCommand(
          tracking("alb", {
            PredefinedMetricSpecification: { PredefinedMetricType: "ALBRequestCountPerTarget" },
          }),
        ),
      ),
      "ValidationException",
      /ResourceLabel/,
    );
    await rejectsWith(
      scaling.send(
        new PutScalingPolicyCommand(
          tracking("ddb", {
            PredefinedMetricSpecification: {
              PredefinedMetricType: "DynamoDBReadCapacityUtilization",
            },
          }),
        ),
      ),
      "ValidationException",
      /Unsupported predefined metric type DynamoDBReadCapacityUtilization/,
    );
    await rejectsWith(
      scaling.send(
        new PutScalingPolicyCommand({
          ...ID,
          PolicyName: "steps",
          PolicyType: "StepScaling",
          StepScalingPolicyConfiguration: {
            AdjustmentType: "ChangeInCapacity",
            StepAdjustments: [
              { MetricIntervalLowerBound: 0, MetricIntervalUpperBound: 20, ScalingAdjustment: 1 },
              { MetricIntervalLowerBound: 10, ScalingAdjustment: 2 },
            ],
          },
        }),
      ),
      "ValidationException",
      /must not overlap or have gaps/,
    );
  });
});

describe("scheduled actions", () => {
  it("keeps schedules with their time zone and bounds; refuses bad ones", async () => {
    await scaling.send(
      new PutScheduledActionCommand({
        ...ID,
        ScheduledActionName: "weekday-morning",
        Schedule: "cron(0 8 ? * MON-FRI *)",
        Timezone: "Asia/Tokyo",
        ScalableTargetAction: { MinCapacity: 2, MaxCapacity: 5 },
      }),
    );
    const { ScheduledActions = [] } = await scaling.send(
      new DescribeScheduledActionsCommand({
        ServiceNamespace: "ecs",
        ScheduledActionNames: ["weekday-morning"],
      }),
    );
    assert.equal(ScheduledActions[0]?.Timezone, "Asia/Tokyo");
    assert.deepEqual(ScheduledActions[0]?.ScalableTargetAction, { MinCapacity: 2, MaxCapacity: 5 });
    assert.match(
      ScheduledActions[0]?.ScheduledActionARN ?? "",
      /^arn:aws:autoscaling:us-east-1:000000000000:scheduledAction:[0-9a-f-]{36}:resource\/ecs\/service\/default\/web:scheduledActionName\/weekday-morning$/,
    );
    for (const [Schedule, Timezone, text] of [
      ["cron(0 8 * * MON-FRI *)", undefined, /day-of-week must be '\?'/],
      ["rate(0 minutes)", undefined, /Invalid rate expression/],
      ["at(2026-02-30T25:00:00)", undefined, /Invalid at expression/],
      ["rate(5 minutes)", "Mars/Olympus", /Invalid timezone: Mars\/Olympus/],
    ] as const)
      await rejectsWith(
        scaling.send(
          new PutScheduledActionCommand({ ...ID, ScheduledActionName: "bad", Schedule, Timezone }),
        ),
        "ValidationException",
        text,
      );
    await scaling.send(
      new DeleteScheduledActionCommand({ ...ID, ScheduledActionName: "weekday-morning" }),
    );
    await rejectsWith(
      scaling.send(
        new DeleteScheduledActionCommand({ ...ID, ScheduledActionName: "weekday-morning" }),
      ),
      "ObjectNotFoundException",
      /scheduled action name: weekday-morning$/,
    );
  });
});

describe("deregistering", () => {
  it("removes the target with its policies and scheduled actions", async () => {
    await scaling.send(
      new PutScheduledActionCommand({
        ...ID,
        ScheduledActionName: "nightly",
        Schedule: "rate(1 day)",
      }),
    );
    await scaling.send(new DeregisterScalableTargetCommand(ID));
    const policies = await scaling.send(
      new DescribeScalingPoliciesCommand({ ServiceNamespace: "ecs" }),
    );
    const actions = await scaling.send(
      new DescribeScheduledActionsCommand({ ServiceNamespace: "ecs" }),
    );
    assert.deepEqual([policies.ScalingPolicies, actions.ScheduledActions], [[], []]);
  });
});
