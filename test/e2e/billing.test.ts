/**
 * Billing end to end: a whole Berth, usage seeded through the meter's STOPPED hook
 * (`billing.recordTaskUsage`, what the compute side calls), then the bill read back through the
 * AWS CLI, the AWS SDK and `berth bill`, which must all agree with each other and with the
 * amounts worked out by hand below — and still agree after a restart.
 *
 * Day 2026-01-10: alpha runs 1 vCPU / 2 GB for 1200.4 s (billed 1201 s: 0.04937 × 1201 / 3600
 * = 0.0164703805…) and 2 vCPU / 4 GB on ARM from 23:00 to 01:00 (0.079 $/h: 0.079 each day);
 * beta runs 0.5 vCPU / 1 GB on Spot for 10 s (a minute: 0.0074055 / 60 = 0.000123425).
 * Day 2026-01-11: the ARM hour (0.079), and an untagged 0.25 vCPU / 0.5 GB for 30 min
 * (0.0123425 / 2 = 0.00617125).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";
import { CostExplorerClient, GetCostAndUsageCommand } from "@aws-sdk/client-cost-explorer";
import {
  startBerthInProcess,
  tempDataDir,
  type TestBerth,
  removeDataDir,
} from "../../src/testing/index.js";
import type { RunningBerth } from "../../src/server/index.js";
import { task } from "../unit/billing/fixtures.js";
import { parseRate } from "../../src/billing/index.js";

const run = promisify(execFile);

const TASKS = [
  task({ tags: { team: "alpha" }, pull: "2026-01-10T10:00:00Z", stop: "2026-01-10T10:20:00.4Z" }),
  task({
    tags: { team: "alpha" },
    cpu: 2048,
    memoryMiB: 4096,
    cpuArchitecture: "ARM64",
    pull: "2026-01-10T23:00:00Z",
    stop: "2026-01-11T01:00:00Z",
  }),
  task({
    tags: { team: "beta" },
    cpu: 512,
    memoryMiB: 1024,
    capacityProviderName: "FARGATE_SPOT",
    pull: "2026-01-10T11:00:00Z",
    stop: "2026-01-10T11:00:10Z",
  }),
  task({ cpu: 256, memoryMiB: 512, pull: "2026-01-11T09:00:00Z", stop: "2026-01-11T09:30:00Z" }),
];

const EXPECTED_DAYS = [
  {
    TimePeriod: { Start: "2026-01-10", End: "2026-01-11" },
    Groups: [
      ["team$alpha", "0.0954703806"],
      ["team$beta", "0.000123425"],
    ],
  },
  {
    TimePeriod: { Start: "2026-01-11", End: "2026-01-12" },
    Groups: [
      ["team$", "0.00617125"],
      ["team$alpha", "0.079"],
    ],
  },
];

const dataDir = tempDataDir("berth-billing-e2e-");
const clientDir = tempDataDir("berth-billing-client-");
let berth: TestBerth & { berth: RunningBerth };

before(async () => {
  berth = await startBerthInProcess({ dataDir });
  for (const t of TASKS) assert.equal(await berth.berth.billing.recordTaskUsage(t), "recorded");
  // The hook may be called again (a retried STOPPED report): nothing changes.
  assert.equal(
    await berth.berth.billing.recordTaskUsage({
      ...TASKS[0]!,
      stoppedAt: new Date("2026-01-10T12:00:00Z"),
    }),
    "already-recorded",
  );
});

after(async () => {
  await berth.stop();
  removeDataDir(dataDir);
  rmSync(clientDir, { recursive: true, force: true });
});

interface Answer {
  ResultsByTime: Array<{
    TimePeriod: { Start: string; End: string };
    Total: Record<string, unknown>;
    Groups: Array<{ Keys: string[]; Metrics: { UnblendedCost: { Amount: string; Unit: string } } }>;
    Estimated: boolean;
  }>;
  GroupDefinitions: unknown;
}

async function awsCli(): Promise<Answer> {
  const { stdout } = await run(
    "/usr/bin/aws",
    [
      "--endpoint-url",
      berth.endpoint,
      "ce",
      "get-cost-and-usage",
      "--time-period",
      "Start=2026-01-10,End=2026-01-12",
      "--granularity",
      "DAILY",
      "--metrics",
      "UnblendedCost",
      "--group-by",
      "Type=TAG,Key=team",
      "--output",
      "json",
    ],
    { env: berth.awsEnv },
  );
  return JSON.parse(stdout) as Answer;
}

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const MAIN = join(ROOT, "src", "cli", "main.ts");

/** Runs the `berth` CLI (its TypeScript, through tsx) as a child process against the test Berth. */
async function berthCli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const env = {
    ...berth.berthEnv,
    BERTH_ENDPOINT: berth.endpoint,
    // The client's own data dir: the commands must reach the running Berth, never write here.
    BERTH_DATA_DIR: clientDir,
  };
  const script = `import(${JSON.stringify(MAIN)}).then(async (m) => { process.exitCode = await m.main(process.argv.slice(1)); })`;
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      ["--import", "tsx", "-e", script, ...args],
      { env, cwd: ROOT },
    );
    return { code: 0, out: stdout, err: stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, out: failed.stdout ?? "", err: failed.stderr ?? "" };
  }
}

function shape(answer: Answer) {
  return answer.ResultsByTime.map((r) => ({
    TimePeriod: r.TimePeriod,
    Groups: r.Groups.map((g) => [g.Keys[0], g.Metrics.UnblendedCost.Amount]),
  }));
}

describe("billing end to end", () => {
  it("aws ce get-cost-and-usage grouped by tag answers the hand-computed amounts", async () => {
    const answer = await awsCli();
    assert.deepEqual(shape(answer), EXPECTED_DAYS);
    assert.deepEqual(answer.GroupDefinitions, [{ Type: "TAG", Key: "team" }]);
    for (const r of answer.ResultsByTime) {
      assert.deepEqual(r.Total, {});
      assert.equal(r.Estimated, false);
      for (const g of r.Groups) assert.equal(g.Metrics.UnblendedCost.Unit, "USD");
    }
  });

  it("the SDK gets the same answer", async () => {
    const client = new CostExplorerClient(berth.clientConfig);
    try {
      const out = await client.send(
        new GetCostAndUsageCommand({
          TimePeriod: { Start: "2026-01-10", End: "2026-01-12" },
          Granularity: "DAILY",
          Metrics: ["UnblendedCost"],
          GroupBy: [{ Type: "TAG", Key: "team" }],
        }),
      );
      assert.deepEqual(shape(out as unknown as Answer), EXPECTED_DAYS);
    } finally {
      client.destroy();
    }
  });

  it("berth bill matches it, to the cent, with the total", async () => {
    const { code, out } = await berthCli([
      "bill",
      "--since",
      "2026-01-10",
      "--until",
      "2026-01-12",
      "--by",
      "tag:team",
    ]);
    assert.equal(code, 0);
    const rows: Record<string, string> = {};
    for (const line of out.split("\n")) {
      const m = /^(\S.*?)\s{2,}(\d+\.\d\d)\s/.exec(line);
      if (m !== null) rows[m[1] as string] = m[2] as string;
    }
    // alpha 0.0954703806 + 0.079 = 0.17; beta 0.000123425 = 0.00; untagged 0.00617125 = 0.01;
    // total 0.1807650556 = 0.18 (rounded from the exact sum).
    assert.deepEqual(rows, { alpha: "0.17", "(untagged)": "0.01", beta: "0.00", TOTAL: "0.18" });
    assert.match(out, /2026-01-10 to 2026-01-12/);
    const csv = await berthCli([
      "bill",
      "--since",
      "2026-01-10",
      "--until",
      "2026-01-12",
      "--by",
      "tag:team",
      "--csv",
    ]);
    assert.equal(
      csv.out,
      "team,cost_usd,share\nalpha,0.17,96.5%\n(untagged),0.01,3.4%\nbeta,0.00,0.1%\nTOTAL,0.18,100.0%\n",
    );
  });

  it("berth bill by usage type names AWS's usage types", async () => {
    const { out } = await berthCli(["bill", "--since", "2026-01-10", "--until", "2026-01-12"]);
    for (const type of [
      "USE1-Fargate-vCPU-Hours:perCPU",
      "USE1-Fargate-GB-Hours",
      "USE1-Fargate-ARM-vCPU-Hours:perCPU",
      "USE1-Fargate-ARM-GB-Hours",
      "USE1-SpotUsage-Fargate-vCPU-Hours:perCPU",
      "USE1-SpotUsage-Fargate-GB-Hours",
    ])
      assert.ok(out.includes(type), `${type} in\n${out}`);
  });

  it("refuses bad arguments, saying how to fix them", async () => {
    // A usage error, as every command's bad flag value is (exit 2).
    const bad = await berthCli(["bill", "--by", "colour"]);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /--by 'colour' is not one of/);
    const past = await berthCli([
      "prices",
      "set",
      "spot.x86.vcpu=0.01",
      "--effective",
      "2026-01-01T00:00:00Z",
    ]);
    assert.equal(past.code, 1);
    assert.match(past.err, /in the past/);
  });

  it("a price change for the future leaves this bill alone; plans are created, listed, deleted", async () => {
    const future = new Date(Date.now() + 30 * 86_400_000);
    future.setUTCMinutes(0, 0, 0);
    const set = await berthCli([
      "prices",
      "set",
      "x86.vcpu=0.05",
      "--effective",
      future.toISOString(),
    ]);
    assert.equal(set.code, 0, set.err);
    const list = await berthCli(["prices", "list", "--at", future.toISOString()]);
    assert.match(list.out, /x86\.vcpu\s+0\.05\s/);
    assert.deepEqual(shape(await awsCli()), EXPECTED_DAYS);

    const created = await berthCli([
      "savings-plans",
      "create",
      "--commitment",
      "0.05",
      "--start",
      future.toISOString(),
    ]);
    assert.equal(created.code, 0, created.err);
    const arn = created.out.trim();
    assert.match(arn, /^arn:aws:savingsplans::000000000000:savingsplan\/[0-9a-f-]{36}$/);
    const id = arn.split("/")[1] as string;
    assert.match(
      (await berthCli(["savings-plans", "list"])).out,
      new RegExp(`${id}\\s+queued\\s+0\\.05\\s+0\\.2\\s`),
    );
    // Both changes live in the running Berth (issue 13 #3), not in the client's data dir.
    assert.equal(
      berth.berth.billing.priceBook().at(future.getTime())["x86.vcpu"],
      parseRate("0.05"),
    );
    assert.deepEqual(
      berth.berth.billing.savingsPlans().plans.map((p) => p.savingsPlanArn),
      [arn],
    );
    assert.deepEqual(readdirSync(clientDir), []);
    const past = await berthCli([
      "savings-plans",
      "create",
      "--commitment",
      "0.05",
      "--start",
      "2026-01-10T00:00:00Z",
    ]);
    assert.equal(past.code, 1);
    assert.match(past.err, /cannot start in the past/);
    assert.equal((await berthCli(["savings-plans", "delete", id])).code, 0);
    assert.doesNotMatch((await berthCli(["savings-plans", "list"])).out, new RegExp(id));
    assert.deepEqual(berth.berth.billing.savingsPlans().plans, []);
    // Unsigned, the routes refuse.
    const unsigned = await fetch(`${berth.endpoint}/_berth/billing/prices`, {
      method: "POST",
      body: JSON.stringify({ prices: { "x86.vcpu": "0" } }),
    });
    assert.equal(unsigned.status, 400);
    assert.equal(unsigned.headers.get("x-amzn-errortype"), "MissingAuthenticationTokenException");
  });

  it("the usage survives a restart", async () => {
    await berth.berth.close();
    berth = await startBerthInProcess({ dataDir });
    assert.deepEqual(shape(await awsCli()), EXPECTED_DAYS);
  });
});
