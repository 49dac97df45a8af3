// A host is given only the ephemeral storage its disk can honour (issue 12, item 10). Task
// filesystems are sparse: without admission, tasks were promised more than the disk holds and
// their writes were lost silently when it filled. Here the agent's disk is a 45 GiB tmpfs of this
// test's own (only written pages take memory): two 21 GiB tasks fit beside the reserve, a third
// is refused at placement (the agent reports the disk it offers and the scheduler counts task
// sizes against it, as CPU and memory), and the room comes back when a task stops. The agent's
// own admission check behind it is unit-tested (storage-budget.test.ts).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { purgeHost } from "../../src/agent/index.js";
import { promisify } from "node:util";
import {
  ECSClient,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  StopTaskCommand,
} from "@aws-sdk/client-ecs";
import {
  pushBusyboxImage,
  startBerthProcess,
  waitForTask,
  type BerthProcess,
} from "../../src/testing/index.js";

const run = promisify(execFile);

let dir: string;
let berth: BerthProcess;
let ecs: ECSClient;
const started: string[] = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "berth-admission-"));
  await run("mount", ["-t", "tmpfs", "-o", "size=45g,mode=0700", "berth-admission", dir]);
  berth = await startBerthProcess({
    dataDir: join(dir, "data"),
    // The operator's default: every GiB promised is a GiB free.
    env: { BERTH_STORAGE_OVERCOMMIT: "1" },
  });
  ecs = new ECSClient(berth.clientConfig);
  const image = (await pushBusyboxImage(berth, "busybox")).uri;
  await ecs.send(
    new RegisterTaskDefinitionCommand({
      family: "scratch",
      requiresCompatibilities: ["FARGATE"],
      networkMode: "awsvpc",
      cpu: "256",
      memory: "512",
      ephemeralStorage: { sizeInGiB: 21 },
      containerDefinitions: [
        { name: "app", image, essential: true, stopTimeout: 1, command: ["sleep", "600"] },
      ],
    }),
  );
});
after(async () => {
  for (const task of started) await ecs.send(new StopTaskCommand({ task })).catch(() => undefined);
  for (const task of started) await waitForTask(ecs, task, "STOPPED").catch(() => undefined);
  ecs?.destroy();
  await berth?.stop();
  // The data dir is ours, so stop() leaves the host's side to us: the cluster's bridge and its
  // iptables chains, and anything else the agent made (a whole-suite run found its bridge left).
  await purgeHost(join(dir, "data", "agent"));
  // Recursively: the image store's nosuid guard mount lives under the data dir too.
  await run("umount", ["-R", dir]).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

async function runScratch(): Promise<string> {
  return (await tryScratch()).arn;
}

async function tryScratch(): Promise<{ arn: string; failures: string[] }> {
  const { tasks = [], failures = [] } = await ecs.send(
    new RunTaskCommand({ taskDefinition: "scratch" }),
  );
  const arn = tasks[0]?.taskArn ?? "";
  if (arn !== "") started.push(arn);
  return { arn, failures: failures.map((f) => f.reason ?? "") };
}

describe("ephemeral storage admission (issue 12, item 10)", () => {
  it("refuses a task whose storage the disk cannot honour, and admits it once room is back", async () => {
    const first = await runScratch();
    await waitForTask(ecs, first, "RUNNING");
    const second = await runScratch();
    await waitForTask(ecs, second, "RUNNING");

    // 42 GiB promised, ~42.7 offered (45 less a 5% reserve): 21 more would overcommit the disk.
    const third = await tryScratch();
    assert.equal(third.arn, "", "no task is placed");
    assert.deepEqual(third.failures, ["RESOURCE:EPHEMERAL_STORAGE"]);

    await ecs.send(new StopTaskCommand({ task: first }));
    await waitForTask(ecs, first, "STOPPED");
    const fourth = await runScratch();
    assert.equal((await waitForTask(ecs, fourth, "RUNNING")).lastStatus, "RUNNING");
  });
});
