/**
 * `npm run bench:console`: the console's task list of a cluster with 10,000 tasks, in Debian's
 * chromium (playwright-core), from navigation until the newest task's row is on screen: the page
 * fetches one page of tasks from the server and draws only the rows in view. The peer, in the
 * same browser and run, is the naive page: the same 10,000 rows (id link, status, family,
 * created) as one static HTML table, from setting its content until that first row is drawn.
 * The tasks are written to the store directly (as the console-data e2e test does).
 *
 * Target (issue 20): under 1 s. BENCH_CONSOLE_RUNS sets how many loads of each (default 7).
 */
import { loadavg } from "node:os";
import { performance } from "node:perf_hooks";
import { rmSync } from "node:fs";
import { CreateClusterCommand, ECSClient } from "@aws-sdk/client-ecs";
import { openStore } from "../../src/store/index.js";
import { startBerthInProcess, tempDataDir } from "../../src/testing/index.js";
import { insertTasks, launchBrowser, signIn, taskId } from "../../test/e2e/console-browser.js";

const TASKS = 10_000;
const RUNS = Number(process.env.BENCH_CONSOLE_RUNS ?? 7);

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
};

/** The naive page: every task as a row of one table. */
function staticTable(): string {
  const rows = Array.from({ length: TASKS }, (_, k) => {
    const n = TASKS - 1 - k;
    const status = n % 4 === 0 ? "STOPPED" : "RUNNING";
    const family = n % 2 === 0 ? "bulk-even" : "bulk-odd";
    const created = new Date(Date.UTC(2026, 0, 1) + n * 1000).toISOString();
    return `<tr><td><a href="#${taskId(n)}">${taskId(n)}</a></td><td>${status}</td><td>${family}</td><td>${created}</td></tr>`;
  });
  return `<!doctype html><html><body><table><thead><tr><th>Task</th><th>Last status</th><th>Family</th><th>Created</th></tr></thead><tbody>${rows.join("")}</tbody></table></body></html>`;
}

async function main(): Promise<void> {
  const dataDir = tempDataDir("berth-bench-console-");
  const berth = await startBerthInProcess({ dataDir });
  const browser = await launchBrowser();
  try {
    const ecs = new ECSClient(berth.clientConfig);
    await ecs.send(new CreateClusterCommand({ clusterName: "big" }));
    ecs.destroy();
    const store = await openStore(undefined, dataDir);
    await insertTasks(store, "big", TASKS);
    await store.destroy();
    const page = await (
      await browser.newContext({ viewport: { width: 1280, height: 900 } })
    ).newPage();
    await signIn(page, berth.endpoint, berth.credentials);
    const html = staticTable();
    const newest = taskId(TASKS - 1);
    const consoleMs: number[] = [];
    const tableMs: number[] = [];
    const load = loadavg()[0] ?? 0;
    // One warm-up of each (the browser's caches, the server's first query), then interleaved.
    for (let run = -1; run < RUNS; run++) {
      await page.goto("about:blank");
      let start = performance.now();
      await page.goto(`${berth.endpoint}/console/clusters/big/tasks`);
      await page.getByRole("link", { name: newest }).waitFor();
      if (run >= 0) consoleMs.push(performance.now() - start);
      await page.goto("about:blank");
      start = performance.now();
      await page.setContent(html);
      await page.getByRole("link", { name: newest }).waitFor();
      if (run >= 0) tableMs.push(performance.now() - start);
    }
    const ours = median(consoleMs);
    const peer = median(tableMs);
    console.log(`bench:console: ${TASKS} tasks, ${RUNS} loads of each, chromium headless`);
    console.log(
      `task list -> newest row drawn p50: console ${ours.toFixed(0)} ms  static 10,000-row table ${peer.toFixed(0)} ms  ratio ${(ours / peer).toFixed(2)}x`,
    );
    console.log(
      `  console max ${Math.max(...consoleMs).toFixed(0)} ms; target < 1000 ms: ${ours < 1000 ? "met" : "missed"}; load ${load.toFixed(2)} -> ${(loadavg()[0] ?? 0).toFixed(2)}`,
    );
  } finally {
    await browser.close();
    await berth.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
