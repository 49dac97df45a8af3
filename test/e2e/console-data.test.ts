// The console on data a real cluster takes long to make: a bill over past days (recorded through
// the meter's own hook, as billing.test.ts does) whose totals must equal `berth bill`'s to the
// cent, and 10,000 tasks of one cluster, inserted through the store directly (RunTask of 10,000
// real containers would take this machine most of an hour), which the task page must page,
// filter and draw as a virtual list. In a real browser (Debian's chromium).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { CreateClusterCommand, ECSClient } from "@aws-sdk/client-ecs";
import type { Browser, Page } from "playwright-core";
import { openStore, type Store } from "../../src/store/index.js";
import { startBerthInProcess, tempDataDir, type TestBerth } from "../../src/testing/index.js";
import type { RunningBerth } from "../../src/server/index.js";
import { task } from "../unit/billing/fixtures.js";
import { launchBrowser, screenshot, signIn } from "./console-browser.js";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const MAIN = join(ROOT, "src", "cli", "main.ts");
const TASKS = 10_000;
const ACCOUNT = "000000000000";

const dataDir = tempDataDir("berth-console-data-");
const clientDir = tempDataDir("berth-console-client-");
let berth: TestBerth & { berth: RunningBerth };
let store: Store;
let browser: Browser;
let page: Page;

const id = (n: number): string => n.toString(16).padStart(32, "0");

/** 10,000 tasks of cluster "big": every fourth STOPPED, the rest RUNNING, newest last. */
async function insertTasks(): Promise<void> {
  const start = Date.UTC(2026, 0, 1);
  for (let batch = 0; batch < TASKS; batch += 500) {
    await store.transaction().execute(async (tx) => {
      await tx
        .insertInto("tasks")
        .values(
          Array.from({ length: 500 }, (_, k) => {
            const n = batch + k;
            const stopped = n % 4 === 0;
            return {
              arn: `arn:aws:ecs:us-east-1:${ACCOUNT}:task/big/${id(n)}`,
              id: id(n),
              cluster_name: "big",
              family: n % 2 === 0 ? "bulk-even" : "bulk-odd",
              task_definition_arn: `arn:aws:ecs:us-east-1:${ACCOUNT}:task-definition/bulk:1`,
              last_status: stopped ? "STOPPED" : "RUNNING",
              desired_status: stopped ? "STOPPED" : "RUNNING",
              host_id: null,
              cpu: 256,
              memory: 512,
              started_by: null,
              group_name: "family:bulk",
              created_at: start + n * 1000,
              stopped_at: stopped ? start + n * 1000 + 500 : null,
              version: 1,
              document: "{}",
              assignment: "{}",
            };
          }),
        )
        .execute();
    });
  }
}

before(async () => {
  berth = await startBerthInProcess({ dataDir });
  const ecs = new ECSClient(berth.clientConfig);
  await ecs.send(new CreateClusterCommand({ clusterName: "big" }));
  ecs.destroy();
  for (const usage of [
    task({ pull: "2026-01-10T10:00:00Z", stop: "2026-01-10T10:20:00.4Z" }),
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
      pull: "2026-01-11T11:00:00Z",
      stop: "2026-01-11T15:00:10Z",
    }),
    task({ cpu: 256, memoryMiB: 512, pull: "2026-01-11T09:00:00Z", stop: "2026-01-11T09:30:00Z" }),
  ])
    assert.equal(await berth.berth.billing.recordTaskUsage(usage), "recorded");
  store = await openStore(undefined, dataDir);
  await insertTasks();
  browser = await launchBrowser();
  page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  await signIn(page, berth.endpoint, berth.credentials);
});

after(async () => {
  await browser?.close();
  await store?.destroy();
  await berth?.stop();
  rmSync(dataDir, { recursive: true, force: true });
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
        ...process.env,
        BERTH_ENDPOINT: berth.endpoint,
        BERTH_ACCESS_KEY_ID: berth.credentials.accessKeyId,
        BERTH_SECRET_ACCESS_KEY: berth.credentials.secretAccessKey,
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
  for (const by of ["usage-type", "service"]) {
    it(`the costs page by ${by} totals what berth bill totals, to the cent`, async () => {
      const period = ["--since", "2026-01-10", "--until", "2026-01-12", "--by", by];
      const bill = billLines(await berthBill(period));
      const total = bill.get("TOTAL");
      assert.ok(total !== undefined && total !== "0.00", `berth bill has a total: ${total}`);
      await page.goto(`${berth.endpoint}/console/costs?since=2026-01-10&until=2026-01-12&by=${by}`);
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
      await screenshot(page, `costs-by-${by}`);
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
});
