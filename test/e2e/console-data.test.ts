// The console on data a real cluster takes long to make: a bill over past days (recorded through
// the meter's own hook, as billing.test.ts does) whose totals must equal `berth bill`'s to the
// cent, and 10,000 tasks of one cluster, inserted through the store directly (RunTask of 10,000
// real containers would take this machine most of an hour), which the task page must page,
// filter and draw as a virtual list; every page as a screen reader gets it. In a real browser
// (Debian's chromium).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import {
  CreateClusterCommand,
  CreateServiceCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
} from "@aws-sdk/client-ecs";
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateTargetGroupCommand,
  ElasticLoadBalancingV2Client,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import type { Browser, Page } from "playwright-core";
import { ManualClock } from "../../src/core/index.js";
import { openStore, type Store } from "../../src/store/index.js";
import {
  freePort,
  pushBusyboxImage,
  startBerthInProcess,
  tempDataDir,
  until,
  type TestBerth,
  removeDataDir,
} from "../../src/testing/index.js";
import type { RunningBerth } from "../../src/server/index.js";
import { task } from "../unit/billing/fixtures.js";
import { screenReaderGaps } from "./console-a11y.js";
import { insertTasks, launchBrowser, screenshot, signIn, taskId as id } from "./console-browser.js";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const MAIN = join(ROOT, "src", "cli", "main.ts");
const APP = join(ROOT, "src", "console", "web", "app.tsx");
const TASKS = 10_000;

const dataDir = tempDataDir("berth-console-data-");
const clientDir = tempDataDir("berth-console-client-");
let berth: TestBerth & { berth: RunningBerth };
let store: Store;
let browser: Browser;
let page: Page;

before(async () => {
  berth = await startBerthInProcess({ dataDir });
  const ecs = new ECSClient(berth.clientConfig);
  await ecs.send(new CreateClusterCommand({ clusterName: "big" }));
  ecs.destroy();
  for (const usage of [
    task({
      pull: "2026-01-10T10:00:00Z",
      stop: "2026-01-10T10:20:00.4Z",
      tags: { team: "blue" },
    }),
    task({
      group: "service:web",
      cpu: 2048,
      memoryMiB: 4096,
      pull: "2026-01-10T23:00:00Z",
      stop: "2026-01-11T01:00:00Z",
    }),
    task({
      group: "service:web",
      capacityProviderName: "FARGATE_SPOT",
      tags: { team: "red", owner: "ops" },
      pull: "2026-01-11T11:00:00Z",
      stop: "2026-01-11T15:00:10Z",
    }),
    task({ cpu: 256, memoryMiB: 512, pull: "2026-01-11T09:00:00Z", stop: "2026-01-11T09:30:00Z" }),
  ])
    assert.equal(await berth.berth.billing.recordTaskUsage(usage), "recorded");
  store = await openStore(undefined, dataDir);
  await insertTasks(store, "big", TASKS);
  browser = await launchBrowser();
  page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  await signIn(page, berth.endpoint, berth.credentials);
});

after(async () => {
  await browser?.close();
  await store?.destroy();
  await berth?.stop();
  removeDataDir(dataDir);
  rmSync(clientDir, { recursive: true, force: true });
});

/** `berth bill` (the CLI, through tsx) against this Berth. */
async function berthBill(args: string[]): Promise<string> {
  const { stdout } = await run(
    process.execPath,
    [
      "--import",
      "tsx",
      "-e",
      `import(${JSON.stringify(MAIN)}).then(async (m) => { process.exitCode = await m.main(process.argv.slice(1)); })`,
      "bill",
      ...args,
    ],
    {
      cwd: ROOT,
      env: {
        ...berth.berthEnv,
        BERTH_ENDPOINT: berth.endpoint,
        BERTH_DATA_DIR: clientDir,
      },
    },
  );
  return stdout;
}

/** The bill's rows and total as `label -> amount` (the CLI's table). */
function billLines(text: string): Map<string, string> {
  const lines = new Map<string, string>();
  for (const line of text.split("\n")) {
    const match = /^(.*?)\s+(-?\d+\.\d\d)\s+\S+%$/.exec(line);
    if (match?.[1] !== undefined && match[2] !== undefined) lines.set(match[1].trim(), match[2]);
  }
  return lines;
}

describe("console on a bill and 10,000 tasks", () => {
  for (const by of ["usage-type", "service", "cluster", "tag:team"]) {
    it(`the costs page by ${by} totals what berth bill totals, to the cent`, async () => {
      const period = ["--since", "2026-01-10", "--until", "2026-01-12", "--by", by];
      const bill = billLines(await berthBill(period));
      const total = bill.get("TOTAL");
      assert.ok(total !== undefined && total !== "0.00", `berth bill has a total: ${total}`);
      const grouping = by.startsWith("tag:") ? `tag&tag=${by.slice(4)}` : by;
      await page.goto(
        `${berth.endpoint}/console/costs?since=2026-01-10&until=2026-01-12&by=${grouping}`,
      );
      const shown = page.getByTestId("cost-total");
      await shown.waitFor();
      assert.equal(await shown.textContent(), total);
      // Every row too, label and amount.
      const rows = await page.getByTestId("cost-groups").locator("tbody tr").all();
      assert.equal(rows.length, bill.size - 1);
      for (const row of rows) {
        const cells = await row.locator("td").allTextContents();
        assert.equal(bill.get(cells[0] ?? ""), cells[1], `row ${cells[0]}`);
      }
      if (by.startsWith("tag:")) {
        // Two tagged values and the untagged rest.
        assert.deepEqual([...bill.keys()].sort(), ["(untagged)", "TOTAL", "blue", "red"]);
        // The tag keys to choose from are the period's (GetTags): the tasks' own and the
        // generated cost allocation tags.
        const keys = await page.getByLabel("Tag key").locator("option").allTextContents();
        for (const key of ["aws:ecs:clusterName", "aws:ecs:serviceName", "owner", "team"])
          assert.ok(keys.includes(key), `${key} in ${keys.join(", ")}`);
        // Choosing another key regroups (and goes into the URL).
        await page.getByLabel("Tag key").selectOption("owner");
        await page.getByTestId("cost-groups").getByText("ops").waitFor();
        assert.match(page.url(), /tag=owner/);
        assert.equal(await page.getByTestId("cost-total").textContent(), total);
      }
      // By day: each day of the period, adding up to the total to the cent.
      const days = await page.getByTestId("cost-days").getByRole("listitem").all();
      assert.equal(days.length, 2);
      let cents = 0;
      for (const [i, day] of days.entries()) {
        assert.equal(await day.locator(".bar-label").textContent(), `2026-01-1${i}`);
        cents += Math.round(Number(await day.locator(".num").textContent()) * 100);
      }
      // Each day is rounded to the cent on its own: two days are within a cent of the total.
      assert.ok(Math.abs(cents - Math.round(Number(total) * 100)) <= 1, `${cents} vs ${total}`);
      await screenshot(page, `costs-by-${by.replace(":", "-")}`);
    });
  }

  it("the task page of 10,000 tasks pages them from the server and draws only what is in view", async () => {
    await page.goto(`${berth.endpoint}/console/clusters/big/tasks`);
    await page.getByTestId("task-total").getByText(`${TASKS} tasks`).waitFor();
    // The newest task comes first.
    const newest = id(TASKS - 1);
    await page.getByRole("link", { name: newest }).waitFor();
    const drawn = await page.locator('.viewport [role="row"]').count();
    assert.ok(drawn > 0 && drawn < 200, `only the rows in view exist (${drawn})`);
    await screenshot(page, "tasks-10000");
    // Scrolled to the end: the oldest task is drawn (fetched from the server on the way).
    // (Expressions as strings: the tests' tsconfig has no DOM types.)
    await page.evaluate("document.querySelector('.viewport').scrollTo(0, 1e9)");
    await page.getByRole("link", { name: id(0) }).waitFor();
    assert.ok((await page.locator('.viewport [role="row"]').count()) < 200);
    // Filters are the server's, and in the URL.
    await page.getByLabel("Last status").selectOption("STOPPED");
    await page
      .getByTestId("task-total")
      .getByText(`${TASKS / 4} tasks`)
      .waitFor();
    assert.match(page.url(), /lastStatus=STOPPED/);
    await page.getByLabel("Last status").selectOption("");
    await page.getByLabel("Search").fill(id(4321).slice(0, 31));
    // The page draws again before Enter (rows arriving, here a scroll): what was typed stays.
    await page.evaluate("document.querySelector('.viewport').scrollTo(0, 4000)");
    await page.getByRole("link", { name: id(TASKS - 101) }).waitFor();
    assert.equal(await page.getByLabel("Search").inputValue(), id(4321).slice(0, 31));
    await page.getByLabel("Search").press("Enter");
    await page.getByTestId("task-total").getByText("16 tasks").waitFor();
    // The same URL, opened fresh, shows the same page (a stable, shareable URL).
    await page.goto(page.url());
    await page.getByTestId("task-total").getByText("16 tasks").waitFor();
  });

  it("works by keyboard alone: sign in, land where the link pointed, move between pages", async () => {
    const context = await browser.newContext();
    try {
      const keys = await context.newPage();
      await keys.goto(`${berth.endpoint}/console/costs?since=2026-01-10&until=2026-01-12`);
      await keys.getByLabel("Access key ID").focus();
      await keys.keyboard.type(berth.credentials.accessKeyId);
      await keys.keyboard.press("Tab");
      await keys.keyboard.type(berth.credentials.secretAccessKey);
      await keys.keyboard.press("Enter");
      await keys.getByRole("heading", { name: "Costs" }).waitFor();
      await keys.getByTestId("cost-total").waitFor();
      // Tab through the page to the Registry link and follow it with Enter.
      let focused = "";
      for (let i = 0; i < 40 && focused !== "Registry"; i++) {
        await keys.keyboard.press("Tab");
        focused = String(await keys.evaluate("document.activeElement?.textContent ?? ''"));
      }
      assert.equal(focused, "Registry");
      await keys.keyboard.press("Enter");
      await keys.getByRole("heading", { name: "Registry" }).waitFor();
    } finally {
      await context.close();
    }
  });

  it("shows what Spot saved against on-demand prices, and no Savings Plans", async () => {
    const costs = `${berth.endpoint}/console/costs?since=2026-01-10&until=2026-01-12`;
    await page.goto(costs);
    // The Spot task: 1 vCPU and 2 GB for 4 h 10 s at the default prices, on demand against Spot.
    const hours = (4 * 3600 + 10) / 3600;
    const onDemand = (0.04048 + 2 * 0.004445) * hours;
    const paid = (0.012144 + 2 * 0.0013335) * hours;
    const spot = page.getByTestId("savings-spot");
    await spot.waitFor();
    assert.deepEqual(await spot.locator("td").allTextContents(), [
      onDemand.toFixed(2),
      paid.toFixed(2),
      (onDemand - paid).toFixed(2),
    ]);
    assert.deepEqual(await page.getByTestId("savings-plans").locator("td").allTextContents(), [
      "0.00",
      "0.00",
      "0.00",
    ]);
    await screenshot(page, "costs-savings");
  });

  it("shows what a Savings Plan saved, net of its commitment", async () => {
    // A Berth of its own on a clock it moves: a plan starts at the next hour, never in the past.
    const clock = new ManualClock(Date.now());
    const planned = await startBerthInProcess({ clock });
    const context = await browser.newContext();
    try {
      // $0.01 an hour for three years: 50% off, so it covers $0.02 an hour of on-demand usage.
      const plan = planned.berth.billing.createSavingsPlan({
        commitment: "0.01",
        termSeconds: 3 * 365 * 86_400,
      });
      const start = plan.start.getTime();
      // Half an hour into the plan's fourth hour, which has no usage: its commitment is waste.
      clock.set(new Date(start + 3.5 * 3_600_000));
      // 1 vCPU and 2 GB ($0.049 an hour on demand) through the plan's three hours: it is used up.
      const usage = task({
        pull: new Date(start).toISOString(),
        stop: new Date(start + 3 * 3_600_000).toISOString(),
      });
      assert.equal(await planned.berth.billing.recordTaskUsage(usage), "recorded");
      const day = (ms: number): string => new Date(ms).toISOString().slice(0, 10);
      const costs = `/console/costs?since=${day(start)}&until=${day(start + 2 * 86_400_000)}`;
      const mine = await context.newPage();
      await signIn(mine, planned.endpoint, planned.credentials, costs);
      const row = mine.getByTestId("savings-plans");
      await row.waitFor();
      // $0.06 of usage at on-demand rates for four started hours' commitment, $0.04.
      assert.deepEqual(await row.locator("td").allTextContents(), ["0.06", "0.04", "0.02"]);
      await screenshot(mine, "costs-savings-plan");
    } finally {
      await context.close();
      await planned.stop();
    }
  });

  it("is readable on a phone: the task table keeps to the screen's width", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${berth.endpoint}/console/clusters/big/tasks`);
    await page.getByTestId("task-total").getByText(`${TASKS} tasks`).waitFor();
    const overflow = Number(
      await page.evaluate("document.documentElement.scrollWidth - window.innerWidth"),
    );
    assert.ok(overflow <= 0, `no sideways scrolling (${overflow}px too wide)`);
    await screenshot(page, "tasks-phone");
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it("labels every page for a screen reader: names, tables, charts, one main, one h1, labels", async () => {
    // What the bill and the inserted tasks leave empty: a repository with an image, a service
    // (desired 0: no containers) behind a load balancer with a listener and a target group.
    const image = await pushBusyboxImage(berth, "a11y");
    const ecs = new ECSClient(berth.clientConfig);
    const elb = new ElasticLoadBalancingV2Client(berth.clientConfig);
    try {
      await ecs.send(
        new RegisterTaskDefinitionCommand({
          family: "a11y",
          requiresCompatibilities: ["FARGATE"],
          networkMode: "awsvpc",
          cpu: "256",
          memory: "512",
          containerDefinitions: [
            { name: "web", image: image.uri, portMappings: [{ containerPort: 8080 }] },
          ],
        }),
      );
      const { LoadBalancers } = await elb.send(new CreateLoadBalancerCommand({ Name: "a11y" }));
      const { TargetGroups } = await elb.send(
        new CreateTargetGroupCommand({
          Name: "a11y-web",
          Protocol: "HTTP",
          Port: 8080,
          TargetType: "ip",
        }),
      );
      const targetGroupArn = TargetGroups?.[0]?.TargetGroupArn;
      await elb.send(
        new CreateListenerCommand({
          Protocol: "HTTP",
          LoadBalancerArn: LoadBalancers?.[0]?.LoadBalancerArn,
          Port: await freePort(),
          DefaultActions: [{ Type: "forward", TargetGroupArn: targetGroupArn }],
        }),
      );
      await ecs.send(
        new CreateServiceCommand({
          cluster: "big",
          serviceName: "a11y",
          taskDefinition: "a11y",
          desiredCount: 0,
          loadBalancers: [{ targetGroupArn, containerName: "web", containerPort: 8080 }],
          networkConfiguration: { awsvpcConfiguration: { subnets: ["subnet-1"] } },
        }),
      );
    } finally {
      ecs.destroy();
      elb.destroy();
    }
    // The newest inserted task as DescribeTasks would tell of a real one: a timeline, a
    // container with its exit code and health, an address.
    const arn = `arn:aws:ecs:us-east-1:000000000000:task/big/${id(TASKS - 1)}`;
    const at = Date.UTC(2026, 0, 2);
    await store
      .updateTable("tasks")
      .set({
        document: JSON.stringify({
          taskArn: arn,
          clusterArn: "arn:aws:ecs:us-east-1:000000000000:cluster/big",
          taskDefinitionArn: "arn:aws:ecs:us-east-1:000000000000:task-definition/bulk:1",
          cpu: "256",
          memory: "512",
          launchType: "FARGATE",
          group: "family:bulk",
          availabilityZone: "us-east-1a",
          createdAt: at,
          pullStartedAt: at + 1000,
          pullStoppedAt: at + 2000,
          startedAt: at + 3000,
          containers: [
            {
              containerArn: `${arn.replace(":task/", ":container/")}/app`,
              taskArn: arn,
              name: "app",
              image: "busybox",
              lastStatus: "RUNNING",
              healthStatus: "HEALTHY",
              networkInterfaces: [{ privateIpv4Address: "100.64.0.9" }],
            },
          ],
        }),
      })
      .where("id", "=", id(TASKS - 1))
      .execute();
    const pages: [string, string][] = [
      ["home", "/console"],
      ["home/", "/console/"],
      ["clusters", "/console/clusters"],
      ["cluster", "/console/clusters/big"],
      ["tasks", "/console/clusters/big/tasks"],
      ["task", `/console/clusters/big/tasks/${id(TASKS - 1)}`],
      ["service", "/console/clusters/big/services/a11y"],
      ["load balancers", "/console/load-balancers"],
      ["registry", "/console/registry"],
      ["repository", "/console/registry/a11y"],
      ["costs", "/console/costs?since=2026-01-10&until=2026-01-12&by=tag&tag=team"],
      ["run task", "/console/run"],
      ["not found", "/console/no-such-page"],
    ];
    // Every route of the console's (app.tsx) is among them: a new page is checked too.
    const routes = [...readFileSync(APP, "utf8").matchAll(/path=\{`\$\{BASE\}([^`]*)`\}/g)].map(
      (m) => m[1] ?? "",
    );
    assert.ok(routes.length >= 10, `routes read from app.tsx: ${routes.join(" ")}`);
    for (const route of routes) {
      const pattern = new RegExp(
        `^/console${route.replace(/:\w+\*/g, ".+").replace(/:\w+/g, "[^/]+")}$`,
      );
      assert.ok(
        pages.some(([, path]) => pattern.test(path.split("?")[0] ?? "")),
        `no page visited for the route ${route}`,
      );
    }
    const gaps: string[] = [];
    const settle = async (on: Page): Promise<void> => {
      await on.locator("h1").first().waitFor();
      // Until nothing is still loading.
      const loading = on.getByRole("status").filter({ hasText: /^Loading/ });
      await until(
        `${on.url()} loaded`,
        () => loading.count(),
        (n) => n === 0,
        {
          timeoutMs: 20_000,
          everyMs: 100,
        },
      );
    };
    for (const [name, path] of pages) {
      await page.goto(`${berth.endpoint}${path}`);
      await settle(page);
      gaps.push(...(await screenReaderGaps(page, `${name} (${path})`)));
    }
    // The sign-in page, without a session.
    const context = await browser.newContext();
    try {
      const signin = await context.newPage();
      await signin.goto(`${berth.endpoint}/console/signin`);
      await settle(signin);
      gaps.push(...(await screenReaderGaps(signin, "sign-in (/console/signin)")));
    } finally {
      await context.close();
    }
    const more = gaps.length > 50 ? `\n… and ${gaps.length - 50} more` : "";
    assert.ok(
      gaps.length === 0,
      `${gaps.length} gaps a screen reader meets:\n${gaps.slice(0, 50).join("\n")}${more}`,
    );
  });
});
