/**
 * The Cost Explorer API over a whole in-process Berth, through the AWS SDK: shapes as AWS
 * writes them, grouping and filtering, Savings Plans utilization, and the errors for bad input.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  CostExplorerClient,
  GetCostAndUsageCommand,
  GetSavingsPlansUtilizationCommand,
  type GetCostAndUsageCommandInput,
} from "@aws-sdk/client-cost-explorer";
import { billingPaths, savingsPlansFile, type TaskUsage } from "../../../../src/billing/index.js";
import { startBerthInProcess, type TestBerth } from "../../../../src/testing/index.js";
import { task } from "../../billing/fixtures.js";

let berth: TestBerth & { berth: { billing: { recordTaskUsage(t: TaskUsage): Promise<unknown> } } };
let client: CostExplorerClient;

// Day 1: alpha runs 1 vCPU / 2 GB for an hour (0.04937); beta runs the same on Spot for half an
// hour (0.014811 / 2 = 0.0074055); an untagged ARM task 0.25 vCPU / 0.5 GB runs 10 s (a minute:
// (0.25 × 0.03238 + 0.5 × 0.00356) / 60 = 0.009875 / 60 = 0.000164583…); and alpha runs again
// from 23:30 on day 1 to 00:30 on day 2: 0.024685 on each side of midnight.
const alpha = task({
  tags: { team: "alpha" },
  group: "service:web",
  pull: "2026-01-10T08:00:00Z",
  stop: "2026-01-10T09:00:00Z",
});
const beta = task({
  tags: { team: "beta" },
  capacityProviderName: "FARGATE_SPOT",
  pull: "2026-01-10T12:00:00Z",
  stop: "2026-01-10T12:30:00Z",
});
const untagged = task({
  cpu: 256,
  memoryMiB: 512,
  cpuArchitecture: "ARM64",
  family: "batch",
  pull: "2026-01-10T14:00:00Z",
  stop: "2026-01-10T14:00:10Z",
});
const night = task({
  tags: { team: "alpha" },
  group: "service:web",
  pull: "2026-01-10T23:30:00Z",
  stop: "2026-01-11T00:30:00Z",
});

const send = (input: Partial<GetCostAndUsageCommandInput>) =>
  client.send(
    new GetCostAndUsageCommand({
      TimePeriod: { Start: "2026-01-10", End: "2026-01-12" },
      Granularity: "DAILY",
      Metrics: ["UnblendedCost"],
      ...input,
    }),
  );

before(async () => {
  berth = await startBerthInProcess();
  client = new CostExplorerClient(berth.clientConfig);
  for (const t of [alpha, beta, untagged, night]) await berth.berth.billing.recordTaskUsage(t);
});

after(async () => {
  client.destroy();
  await berth.stop();
});

describe("GetCostAndUsage", () => {
  it("totals each day, without groups", async () => {
    const out = await send({ Metrics: ["UnblendedCost", "UsageQuantity"] });
    assert.deepEqual(out.GroupDefinitions, undefined);
    assert.deepEqual(out.DimensionValueAttributes, []);
    assert.equal(out.ResultsByTime?.length, 2);
    const [d1, d2] = out.ResultsByTime ?? [];
    assert.deepEqual(d1?.TimePeriod, { Start: "2026-01-10", End: "2026-01-11" });
    assert.deepEqual(d1?.Groups, []);
    assert.equal(d1?.Estimated, false);
    // 0.04937 + 0.0074055 + 0.000164583… + 0.024685 (night, half) = 0.081625083…
    assert.deepEqual(d1?.Total?.UnblendedCost, { Amount: "0.0816250833", Unit: "USD" });
    assert.deepEqual(d2?.Total?.UnblendedCost, { Amount: "0.024685", Unit: "USD" });
    // Usage mixes vCPU-hours and GB-hours, all "Hrs".
    assert.equal(d2?.Total?.UsageQuantity?.Unit, "Hrs");
    assert.equal(d2?.Total?.UsageQuantity?.Amount, "1.5"); // 0.5 vCPU-h + 1 GB-h
  });

  it("groups by tag with AWS's KEY$VALUE keys, untagged as KEY$", async () => {
    const out = await send({ GroupBy: [{ Type: "TAG", Key: "team" }] });
    assert.deepEqual(out.GroupDefinitions, [{ Type: "TAG", Key: "team" }]);
    const day1 = out.ResultsByTime?.[0];
    assert.deepEqual(day1?.Total, {});
    assert.deepEqual(
      day1?.Groups?.map((g) => [g.Keys?.[0], g.Metrics?.UnblendedCost?.Amount]),
      [
        ["team$", "0.0001645833"],
        ["team$alpha", "0.074055"], // 0.04937 + 0.024685
        ["team$beta", "0.0074055"],
      ],
    );
  });

  it("groups by two keys and by the ECS service tag AWS generates", async () => {
    const out = await send({
      GroupBy: [
        { Type: "DIMENSION", Key: "PURCHASE_TYPE" },
        { Type: "TAG", Key: "aws:ecs:serviceName" },
      ],
      TimePeriod: { Start: "2026-01-01", End: "2026-02-01" },
      Granularity: "MONTHLY",
    });
    assert.deepEqual(
      out.ResultsByTime?.[0]?.Groups?.map((g) => [
        ...(g.Keys ?? []),
        g.Metrics?.UnblendedCost?.Amount,
      ]),
      [
        ["On Demand Instances", "aws:ecs:serviceName$", "0.0001645833"],
        ["On Demand Instances", "aws:ecs:serviceName$web", "0.09874"],
        ["Spot Instances", "aws:ecs:serviceName$", "0.0074055"],
      ],
    );
  });

  it("filters on dimensions and tags, with And / Or / Not", async () => {
    const total = async (Filter: GetCostAndUsageCommandInput["Filter"]) =>
      (await send({ Filter, TimePeriod: { Start: "2026-01-10", End: "2026-01-11" } }))
        .ResultsByTime?.[0]?.Total?.UnblendedCost?.Amount;
    assert.equal(
      await total({ Dimensions: { Key: "PURCHASE_TYPE", Values: ["Spot Instances"] } }),
      "0.0074055",
    );
    assert.equal(await total({ Tags: { Key: "team", MatchOptions: ["ABSENT"] } }), "0.0001645833");
    assert.equal(
      await total({ Not: { Tags: { Key: "team", Values: ["alpha"] } } }),
      "0.0075700833", // beta + untagged
    );
    assert.equal(
      await total({
        And: [
          { Dimensions: { Key: "USAGE_TYPE", Values: ["USE1-Fargate-vCPU-Hours:perCPU"] } },
          {
            Or: [
              { Tags: { Key: "team", Values: ["ALPHA"], MatchOptions: ["CASE_INSENSITIVE"] } },
              { Tags: { Key: "team", Values: ["nobody"] } },
            ],
          },
        ],
      }),
      "0.06072", // alpha's 1.5 vCPU-hours that day × 0.04048
    );
    assert.equal(
      await total({
        Dimensions: {
          Key: "USAGE_TYPE",
          Values: ["USE1-Fargate-ARM"],
          MatchOptions: ["STARTS_WITH"],
        },
      }),
      "0.0001645833",
    );
  });

  it("cuts HOURLY periods with hour timestamps", async () => {
    const out = await send({
      Granularity: "HOURLY",
      TimePeriod: { Start: "2026-01-10T08:00:00Z", End: "2026-01-10T10:00:00Z" },
    });
    assert.deepEqual(
      out.ResultsByTime?.map((r) => [r.TimePeriod?.Start, r.Total?.UnblendedCost?.Amount]),
      [
        ["2026-01-10T08:00:00Z", "0.04937"],
        ["2026-01-10T09:00:00Z", "0"],
      ],
    );
  });

  it("answers bad requests with ValidationException", async () => {
    const reject = async (input: Partial<GetCostAndUsageCommandInput>, pattern: RegExp) =>
      assert.rejects(
        send(input),
        (e: Error) => e.name === "ValidationException" && pattern.test(e.message),
      );
    await reject(
      { TimePeriod: { Start: "2026-01-12", End: "2026-01-10" } },
      /Start date \(and hour\) should be before end date/,
    );
    await reject({ TimePeriod: { Start: "2026-02-30", End: "2026-03-10" } }, /not a valid date/);
    await reject({ Metrics: ["Dollars"] }, /Invalid metric/);
    await reject({ GroupBy: [{ Type: "COST_CATEGORY", Key: "x" }] }, /Cost categories/);
    await reject(
      { GroupBy: [{ Type: "DIMENSION", Key: "INSTANCE_TYPE" }] },
      /dimension is invalid/,
    );
    await reject(
      {
        GroupBy: [
          { Type: "TAG", Key: "a" },
          { Type: "TAG", Key: "b" },
          { Type: "TAG", Key: "c" },
        ],
      },
      /up to two/,
    );
    await reject(
      {
        Filter: {
          Tags: { Key: "team", Values: ["a"] },
          Dimensions: { Key: "SERVICE", Values: ["x"] },
        },
      },
      /exactly one/,
    );
    await reject({ Granularity: "WEEKLY" as "DAILY" }, /enum value set/);
  });
});

describe("GetSavingsPlansUtilization", () => {
  it("has no data before any plan exists", async () => {
    await assert.rejects(
      client.send(
        new GetSavingsPlansUtilizationCommand({
          TimePeriod: { Start: "2026-01-10", End: "2026-01-11" },
        }),
      ),
      (e: Error) => e.name === "DataUnavailableException",
    );
  });

  it("reports used and unused commitment, and the savings", async () => {
    const file = savingsPlansFile(billingPaths(berth.dataDir).savingsPlans);
    const { plans, plan } = file.current().create(
      {
        commitment: "0.05",
        discountRate: "0.2",
        start: new Date("2026-01-10T08:00:00Z"),
        termSeconds: 2 * 3600,
      },
      "000000000000",
      new Date("2026-01-01T00:00:00Z"),
    );
    file.write(plans);
    const out = await client.send(
      new GetSavingsPlansUtilizationCommand({
        TimePeriod: { Start: "2026-01-10", End: "2026-01-11" },
        Granularity: "DAILY",
        Filter: { Dimensions: { Key: "SAVINGS_PLAN_ARN", Values: [plan.savingsPlanArn] } },
      }),
    );
    // Hour 08: alpha's 0.04937 at 20% off uses 0.039496 of 0.05; hour 09 is idle: 0.05 wasted.
    assert.deepEqual(out.Total?.Utilization, {
      TotalCommitment: "0.1",
      UsedCommitment: "0.039496",
      UnusedCommitment: "0.060504",
      UtilizationPercentage: "39.5",
    });
    assert.deepEqual(out.Total?.Savings, {
      NetSavings: "-0.05063",
      OnDemandCostEquivalent: "0.04937",
    });
    assert.equal(out.SavingsPlansUtilizationsByTime?.length, 1);
    assert.deepEqual(out.SavingsPlansUtilizationsByTime?.[0]?.TimePeriod, {
      Start: "2026-01-10",
      End: "2026-01-11",
    });
    // And the cost report sees the plan: day 1 unblended = the rest + 2 hours of fee - alpha's hour.
    const costs = await send({ TimePeriod: { Start: "2026-01-10", End: "2026-01-11" } });
    assert.equal(costs.ResultsByTime?.[0]?.Total?.UnblendedCost?.Amount, "0.1322550833"); // 0.0816250833 - 0.04937 + 0.1
  });
});
