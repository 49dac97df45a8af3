/**
 * `berth host clean` (issue 13 #28): refused while the Berth of the dir runs; after that Berth
 * is killed (its task keeps running, by design), it kills and removes the task's containers,
 * cgroups and namespace.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, describe, it } from "node:test";
import {
  DescribeTasksCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
} from "@aws-sdk/client-ecs";
import {
  BERTH_BIN,
  pushBusyboxImage,
  startBerthProcess,
  tempDataDir,
  until,
  removeDataDir,
} from "../../src/testing/index.js";

const run = promisify(execFile);

/** The host's processes in a task's pids cgroup and its containers' (none when it is gone). */
function taskProcesses(dir: string): number[] {
  if (!existsSync(dir)) return [];
  const pids = (path: string) =>
    readFileSync(join(path, "cgroup.procs"), "utf8").split("\n").filter(Boolean).map(Number);
  const nested = readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .flatMap((e) => pids(join(dir, e.name)));
  return [...pids(dir), ...nested];
}

async function berth(args: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BERTH_BIN, ...args], {
      timeout: 120_000,
    });
    return { code: 0, out: stdout + stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, out: `${failed.stdout ?? ""}${failed.stderr ?? ""}` };
  }
}

const dataDir = tempDataDir("berth-host-clean-");
after(async () => {
  // Whatever the test left if it failed half way.
  await berth(["host", "clean", "--data-dir", dataDir]);
  removeDataDir(dataDir);
});

describe("berth host clean", () => {
  it("refuses while a Berth uses the dir, then removes what a killed Berth left", async () => {
    const first = await startBerthProcess({ dataDir, keepDataDir: true });
    try {
      const ecs = new ECSClient(first.clientConfig);
      const image = (await pushBusyboxImage(first, "busybox")).uri;
      const { taskDefinition } = await ecs.send(
        new RegisterTaskDefinitionCommand({
          family: "sleeper",
          requiresCompatibilities: ["FARGATE"],
          networkMode: "awsvpc",
          cpu: "256",
          memory: "512",
          containerDefinitions: [
            { name: "app", image, essential: true, command: ["sh", "-c", "exec sleep 600"] },
          ],
        }),
      );
      const { tasks } = await ecs.send(
        new RunTaskCommand({ taskDefinition: taskDefinition?.taskDefinitionArn }),
      );
      const arn = tasks?.[0]?.taskArn ?? "";
      await until(
        "the task is RUNNING",
        async () => (await ecs.send(new DescribeTasksCommand({ tasks: [arn] }))).tasks?.[0],
        (task) => task?.lastStatus === "RUNNING",
      );
      ecs.destroy();
      const cgroup = `/sys/fs/cgroup/pids/berth/${arn.split("/").pop()}`;
      assert.ok(taskProcesses(cgroup).length > 0, cgroup);

      const refused = await berth(["host", "clean", "--data-dir", dataDir]);
      assert.equal(refused.code, 1, refused.out);
      assert.match(
        refused.out,
        new RegExp(`another Berth \\(pid ${first.process.pid}\\) uses ${dataDir}`),
      );
      assert.ok(taskProcesses(cgroup).length > 0, "nothing was touched while the Berth ran");

      await first.kill();
      assert.ok(taskProcesses(cgroup).length > 0, "the task outlives its Berth");
      const cleaned = await berth(["host", "clean", "--data-dir", dataDir]);
      assert.equal(cleaned.code, 0, cleaned.out);
      assert.equal(existsSync(cgroup), false, "the task's cgroup and processes are gone");
      const runc = await run("runc", ["--root", `${dataDir}/agent/run/runc`, "list", "-q"]);
      assert.equal(runc.stdout.trim(), "");
    } finally {
      await first.kill();
    }
  });
});
