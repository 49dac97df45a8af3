// The console's charts come from the store: a service's and a task's datapoints (CPU, memory,
// desired/pending/running) survive a restart of Berth (killed with -9 and started again on the
// same data dir), and the restarted console's chart API and service page show them at once.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  CreateServiceCommand,
  ECSClient,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
} from "@aws-sdk/client-ecs";
import type { Browser } from "playwright-core";
import {
  pushBusyboxImage,
  startBerthProcess,
  until,
  type BerthProcess,
} from "../../src/testing/index.js";
import { waitForTask } from "../../src/testing/ecs.js";
import { consoleFetch, launchBrowser, screenshot, signIn } from "./console-browser.js";

interface Point {
  at: number;
  cpu?: number;
  memory?: number;
  running?: number;
  pending?: number;
  desired?: number;
}

let first: BerthProcess;
let second: BerthProcess | undefined;
let browser: Browser | undefined;

before(async () => {
  // One-second metric periods: datapoints within seconds.
  first = await startBerthProcess({ args: ["--metric-period-seconds", "1"] });
});
after(async () => {
  await browser?.close();
  // The restarted server owns the data dir (and purges the host's tasks) when it stops.
  if (second !== undefined) await second.stop();
  else await first.stop();
});

async function points(berth: BerthProcess, cookie: string, query: string): Promise<Point[]> {
  const answer = await consoleFetch(berth.endpoint, `/console/api/metrics?${query}&minutes=60`, {
    cookie,
  });
  assert.equal(answer.status, 200);
  return ((await answer.json()) as { points: Point[] }).points;
}

describe("console charts across a restart", () => {
  it("serves the datapoints written before a kill -9 right after the restart", async () => {
    const ecs = new ECSClient(first.clientConfig);
    const image = (await pushBusyboxImage(first, "busybox")).uri;
    await ecs.send(
      new RegisterTaskDefinitionCommand({
        family: "charted",
        requiresCompatibilities: ["FARGATE"],
        networkMode: "awsvpc",
        cpu: "256",
        memory: "512",
        containerDefinitions: [
          // Busy for a moment each second: the CPU line is not flat zero.
          {
            name: "app",
            image,
            essential: true,
            stopTimeout: 2,
            command: [
              "sh",
              "-c",
              "trap 'exit 0' TERM; while true; do i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; sleep 1; done",
            ],
          },
        ],
      }),
    );
    await ecs.send(
      new CreateServiceCommand({
        serviceName: "charted",
        taskDefinition: "charted",
        desiredCount: 1,
        networkConfiguration: { awsvpcConfiguration: { subnets: ["subnet-1"] } },
      }),
    );
    const [taskArn] = await until(
      "the service's task",
      async () => (await ecs.send(new ListTasksCommand({ serviceName: "charted" }))).taskArns ?? [],
      (arns) => arns.length === 1,
      { timeoutMs: 60_000 },
    );
    assert.ok(taskArn !== undefined);
    await waitForTask(ecs, taskArn, "RUNNING");
    ecs.destroy();

    browser = await launchBrowser();
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    await signIn(page, first.endpoint, first.credentials);
    const cookieValue = (await context.cookies()).find((c) => c.name === "berth_console")?.value;
    assert.ok(cookieValue !== undefined);
    const cookie = `berth_console=${cookieValue}`;
    const service = "cluster=default&service=charted";
    const task = `task=${encodeURIComponent(taskArn)}`;
    const before = await until(
      "three service datapoints with the task running and measured",
      () => points(first, cookie, service),
      (list) =>
        list.filter((p) => p.running === 1 && p.desired === 1 && p.cpu !== undefined).length >= 3,
      { timeoutMs: 90_000, everyMs: 500 },
    );
    const beforeTask = await until(
      "the task's datapoints",
      () => points(first, cookie, task),
      (list) => list.filter((p) => p.cpu !== undefined && p.memory !== undefined).length >= 2,
      { timeoutMs: 30_000, everyMs: 500 },
    );

    second = await first.restart();
    // The first thing the restarted server answers already has every earlier datapoint.
    const after = await points(second, cookie, service);
    for (const p of before)
      assert.deepEqual(
        after.find((q) => q.at === p.at),
        p,
        `the datapoint at ${p.at} survived the restart`,
      );
    const afterTask = await points(second, cookie, task);
    for (const p of beforeTask)
      assert.deepEqual(
        afterTask.find((q) => q.at === p.at),
        p,
        `the task's datapoint at ${p.at} survived`,
      );

    // The service page's charts draw them: utilization and the task counts.
    await page.goto(`${second.endpoint}/console/clusters/default/services/charted`);
    const charts = page.locator("figure.chart svg");
    await until(
      "the service's charts drawn from the kept datapoints",
      async () => [
        Number(await charts.nth(0).getAttribute("data-points")),
        Number(await charts.nth(1).getAttribute("data-points")),
      ],
      ([cpu, counts]) => (cpu ?? 0) >= before.length && (counts ?? 0) >= before.length,
      { timeoutMs: 30_000, everyMs: 250 },
    );
    assert.match((await page.locator("figcaption").nth(1).textContent()) ?? "", /^Tasks/);
    await screenshot(page, "service-charts-after-restart");

    // Another window is asked of the server, and its datapoints drawn (all are minutes old).
    const asked = page.waitForRequest((request) => request.url().includes("&minutes=15"));
    await page.getByLabel("Window").first().selectOption("15");
    await asked;
    await until(
      "the 15-minute window drawn",
      async () => Number(await charts.nth(0).getAttribute("data-points")),
      (cpu) => cpu >= before.length,
      { timeoutMs: 30_000, everyMs: 250 },
    );
  });
});
