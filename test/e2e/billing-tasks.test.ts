// Real tasks, really billed: the meter reads the control plane's tasks, and Cost Explorer bills
// each from its pullStartedAt to its stoppedAt, rounded up to the second, at least a minute.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { CostExplorerClient, GetCostAndUsageCommand } from "@aws-sdk/client-cost-explorer";
import {
  ECSClient,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  type Task,
} from "@aws-sdk/client-ecs";
import {
  pushBusyboxImage,
  startBerthProcess,
  type BerthProcess,
  waitForTask,
} from "../../src/testing/index.js";

let berth: BerthProcess;
let ecs: ECSClient;
let ce: CostExplorerClient;

before(async () => {
  berth = await startBerthProcess();
  ecs = new ECSClient(berth.clientConfig);
  ce = new CostExplorerClient(berth.clientConfig);
});
after(async () => {
  ecs.destroy();
  ce.destroy();
  await berth.stop();
});

async function runFor(image: string, seconds: number, run: string): Promise<string> {
  const { taskDefinition } = await ecs.send(
    new RegisterTaskDefinitionCommand({
      family: `billed-${seconds}`,
      requiresCompatibilities: ["FARGATE"],
      networkMode: "awsvpc",
      cpu: "256",
      memory: "512",
      containerDefinitions: [
        { name: "app", image, essential: true, command: ["sleep", String(seconds)] },
      ],
    }),
  );
  const { tasks = [] } = await ecs.send(
    new RunTaskCommand({
      taskDefinition: taskDefinition?.taskDefinitionArn,
      tags: [{ key: "run", value: run }],
    }),
  );
  return tasks[0]?.taskArn ?? "";
}

/** The vCPU-hours Cost Explorer bills the tasks tagged run=`run`, as seconds of 0.25 vCPU. */
async function billedSeconds(run: string, day: string, nextDay: string): Promise<number> {
  const answer = await ce.send(
    new GetCostAndUsageCommand({
      TimePeriod: { Start: day, End: nextDay },
      Granularity: "DAILY",
      Metrics: ["UsageQuantity"],
      Filter: {
        And: [
          { Tags: { Key: "run", Values: [run] } },
          { Dimensions: { Key: "USAGE_TYPE", Values: ["USE1-Fargate-vCPU-Hours:perCPU"] } },
        ],
      },
    }),
  );
  const hours = (answer.ResultsByTime ?? []).reduce(
    (sum, r) => sum + Number(r.Total?.UsageQuantity?.Amount ?? 0),
    0,
  );
  // Amounts come with 10 decimal places: rounding to whole seconds undoes only that.
  return Math.round((hours * 3600) / 0.25);
}

describe("billing real tasks", () => {
  it("bills each task from its pull start to its stop, rounded up, at least a minute", async () => {
    const image = (await pushBusyboxImage(berth, "busybox")).uri;
    const shortArn = await runFor(image, 2, "short");
    const longArn = await runFor(image, 63, "long");
    const short = await waitForTask(ecs, shortArn, "STOPPED", { timeoutMs: 180_000, everyMs: 500 });
    const long = await waitForTask(ecs, longArn, "STOPPED", { timeoutMs: 180_000, everyMs: 500 });
    const start = new Date(
      Math.min((short.createdAt as Date).getTime(), (long.createdAt as Date).getTime()),
    );
    const day = start.toISOString().slice(0, 10);
    const nextDay = new Date(Date.parse(day) + 2 * 86_400_000).toISOString().slice(0, 10);

    const ran = (task: Task): number =>
      ((task.stoppedAt as Date).getTime() - (task.pullStartedAt as Date).getTime()) / 1000;
    assert.equal(
      await billedSeconds("short", day, nextDay),
      60,
      "a short task pays the one-minute minimum",
    );
    const billedLong = await billedSeconds("long", day, nextDay);
    assert.ok(ran(long) > 60);
    assert.ok(Math.abs(billedLong - ran(long)) <= 1, `billed ${billedLong} s for ${ran(long)} s`);
    assert.equal(billedLong, Math.ceil(ran(long)));
  });
});
