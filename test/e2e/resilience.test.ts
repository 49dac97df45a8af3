// Nothing leaks, nothing is lost: 200 tasks leave the host as they found it; kill -9 of the
// agent leaves containers running and the next agent adopts them; kill -9 of the server
// during a burst of RunTask calls with client tokens leaves every accepted task exactly once,
// and the restarted server, down longer than the host timeout, does not declare the host lost.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  ECSClient,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  StopTaskCommand,
  type ContainerDefinition,
} from "@aws-sdk/client-ecs";
import {
  describeTasks,
  pushBusyboxImage,
  startAgentProcess,
  startBerthProcess,
  tempDataDir,
  type BerthProcess,
  waitForTask,
  waitForTasksStopped,
} from "../../src/testing/index.js";

async function register(
  ecs: ECSClient,
  family: string,
  image: string,
  container: ContainerDefinition,
): Promise<string> {
  const { taskDefinition } = await ecs.send(
    new RegisterTaskDefinitionCommand({
      family,
      requiresCompatibilities: ["FARGATE"],
      networkMode: "awsvpc",
      cpu: "256",
      memory: "512",
      containerDefinitions: [{ name: "app", image, essential: true, ...container }],
    }),
  );
  return taskDefinition?.taskDefinitionArn ?? "";
}

const idOf = (arn: string): string => arn.split("/").pop() ?? "";

/** The host's processes in a task's cgroup (empty when none runs). */
function taskProcesses(arn: string): number[] {
  const file = `/sys/fs/cgroup/pids/berth/${idOf(arn)}/cgroup.procs`;
  if (!existsSync(file)) return [];
  const own = readFileSync(file, "utf8").split("\n").filter(Boolean).map(Number);
  const dir = `/sys/fs/cgroup/pids/berth/${idOf(arn)}`;
  const nested = readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .flatMap((e) =>
      readFileSync(join(dir, e.name, "cgroup.procs"), "utf8")
        .split("\n")
        .filter(Boolean)
        .map(Number),
    );
  return [...own, ...nested];
}

/**
 * What this test's tasks leave on the host: mounts, cgroups, OCI runtime states, netns files,
 * live monitors. Only its own: other Berths on the machine make and remove theirs meanwhile
 * (counting every cgroup under /berth made this test fail under a loaded machine, issue 13 #16).
 */
function footprint(agentDir: string, taskArns: string[]): Record<string, number> {
  // The agent's prepared sandboxes (issue 18) are its own, bounded and removed with it
  // (sandbox-pool.test.ts): left aside while unclaimed, their attachment still the pool's. A
  // namespace a task claimed keeps its pool- name, so a task that leaked one is still counted.
  const netnsDir = join(agentDir, "run", "netns");
  const attachments = join(agentDir, "network", "attachments");
  const unclaimed = new Set(
    (existsSync(attachments) ? readdirSync(attachments) : [])
      .filter((n) => n.startsWith("pool-") && n.endsWith(".json"))
      .map((n) => join(netnsDir, n.slice(0, -".json".length))),
  );
  const mounts = readFileSync("/proc/mounts", "utf8")
    .split("\n")
    .filter((l) => l.includes(agentDir) && !unclaimed.has(l.split(" ")[1] ?? "")).length;
  // A task's cgroup is /berth/<taskId> in each hierarchy.
  const ids = new Set(taskArns.map(idOf));
  let cgroups = 0;
  for (const hierarchy of readdirSync("/sys/fs/cgroup")) {
    const dir = join("/sys/fs/cgroup", hierarchy, "berth");
    if (existsSync(dir))
      cgroups += readdirSync(dir, { withFileTypes: true }).filter(
        (e) => e.isDirectory() && ids.has(e.name),
      ).length;
  }
  const runcRoot = join(agentDir, "run", "runc");
  const states = existsSync(runcRoot) ? readdirSync(runcRoot).length : 0;
  const netns = existsSync(netnsDir)
    ? readdirSync(netnsDir).filter((n) => !unclaimed.has(join(netnsDir, n))).length
    : 0;
  const monitors = execFileSync("ps", ["-eo", "stat=,args="], { encoding: "utf8" })
    .split("\n")
    .filter(
      (l) => !l.trimStart().startsWith("Z") && l.includes("conmon") && l.includes(agentDir),
    ).length;
  return { mounts, cgroups, states, netns, monitors };
}

describe("resilience", () => {
  it("runs 200 tasks and leaves the host's counts where they started", async () => {
    const berth = await startBerthProcess({ args: ["--no-local-agent"] });
    const agent = await startAgentProcess({
      ...berth.join,
      token: berth.joinToken,
      cpu: 64 * 1024,
      memory: 256 * 1024,
    });
    const ecs = new ECSClient(berth.clientConfig);
    try {
      const image = (await pushBusyboxImage(berth, "busybox")).uri;
      const definition = await register(ecs, "leak", image, { command: ["true"] });
      // The first task pulls the image; the baseline is taken once the cache is warm.
      const [first] =
        (await ecs.send(new RunTaskCommand({ taskDefinition: definition }))).tasks ?? [];
      await waitForTasksStopped(ecs, [first?.taskArn ?? ""]);
      await new Promise((resolve) => setTimeout(resolve, 500));
      const arns: string[] = [];
      // The baseline: the agent's own state with the image cached, and none of these tasks' cgroups;
      // two reads alike, as the pool may be making an entry (its namespace before its attachment).
      let before = footprint(agent.dataDir, []);
      for (let i = 0; i < 40; i++) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        const again = footprint(agent.dataDir, []);
        if (JSON.stringify(again) === JSON.stringify(before)) break;
        before = again;
      }
      for (let batch = 0; batch < 20; batch++) {
        const { tasks = [], failures = [] } = await ecs.send(
          new RunTaskCommand({ taskDefinition: definition, count: 10 }),
        );
        assert.deepEqual(failures, []);
        arns.push(...tasks.map((t) => t.taskArn ?? ""));
      }
      assert.equal(new Set(arns).size, 200);
      const stopped = await waitForTasksStopped(ecs, arns);
      // Which tasks did not exit 0, and what ECS says of them (issue 13 #16).
      assert.deepEqual(
        stopped
          .filter((t) => t.containers?.[0]?.exitCode !== 0)
          .map((t) => ({
            task: t.taskArn,
            stopCode: t.stopCode,
            stoppedReason: t.stoppedReason,
            container: t.containers?.[0]?.reason,
            exitCode: t.containers?.[0]?.exitCode,
          })),
        [],
        "every task ran to exit 0",
      );
      // The agent tears down before it reports STOPPED; give its last deletes a moment.
      const deadline = Date.now() + 20_000;
      const ours = [first?.taskArn ?? "", ...arns];
      let after = footprint(agent.dataDir, ours);
      while (JSON.stringify(after) !== JSON.stringify(before) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        after = footprint(agent.dataDir, ours);
      }
      assert.deepEqual(after, before);
    } finally {
      ecs.destroy();
      await agent.stop();
      await berth.stop();
    }
  });

  it("keeps containers running through kill -9 of the agent, and the next agent adopts them", async () => {
    const berth = await startBerthProcess({ args: ["--no-local-agent"] });
    const dataDir = tempDataDir("berth-agent-");
    const first = await startAgentProcess({
      ...berth.join,
      token: berth.joinToken,
      dataDir,
      keepDataDir: true,
    });
    const ecs = new ECSClient(berth.clientConfig);
    let second: Awaited<ReturnType<typeof startAgentProcess>> | undefined;
    try {
      const image = (await pushBusyboxImage(berth, "busybox")).uri;
      const long = await register(ecs, "long", image, {
        stopTimeout: 1,
        command: ["sh", "-c", "exec sleep 600"],
      });
      const quick = await register(ecs, "quick", image, {
        // Long enough to still run when the agent is killed, on a loaded machine too.
        command: ["sh", "-c", "sleep 10; exit 5"],
      });
      const longArn =
        (await ecs.send(new RunTaskCommand({ taskDefinition: long }))).tasks?.[0]?.taskArn ?? "";
      const quickArn =
        (await ecs.send(new RunTaskCommand({ taskDefinition: quick }))).tasks?.[0]?.taskArn ?? "";
      await Promise.all([
        waitForTask(ecs, longArn, "RUNNING"),
        waitForTask(ecs, quickArn, "RUNNING"),
      ]);
      const pids = taskProcesses(longArn);
      assert.ok(pids.length > 0);

      await first.kill();
      assert.deepEqual(taskProcesses(longArn), pids, "the container outlives its agent");
      // The quick task's container exits while no agent runs.
      const deadline = Date.now() + 60_000;
      while (taskProcesses(quickArn).length > 0 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 200));
      assert.deepEqual(taskProcesses(quickArn), []);

      second = await startAgentProcess({ ...berth.join, token: berth.joinToken, dataDir });
      const quickStopped = await waitForTask(ecs, quickArn, "STOPPED");
      assert.equal(
        quickStopped.containers?.[0]?.exitCode,
        5,
        "the real exit code, recorded while no agent ran",
      );
      assert.equal(quickStopped.stopCode, "EssentialContainerExited");
      const longTask = (await describeTasks(ecs, [longArn]))[0];
      assert.equal(longTask?.lastStatus, "RUNNING");
      assert.deepEqual(taskProcesses(longArn), pids, "the same process, adopted");

      await ecs.send(new StopTaskCommand({ task: longArn }));
      const longStopped = await waitForTask(ecs, longArn, "STOPPED");
      assert.equal(longStopped.containers?.[0]?.exitCode, 137);
    } finally {
      ecs.destroy();
      await second?.stop();
      await first.stop();
      await berth.stop();
    }
  });

  it("keeps every task accepted during a RunTask burst exactly once across kill -9 of the server", async () => {
    let berth: BerthProcess = await startBerthProcess({
      // Down for longer than the host timeout below: the restarted leader must not judge the
      // host by a heartbeat from before its crash.
      args: ["--no-local-agent", "--host-timeout-seconds", "10"],
      dataDir: tempDataDir(),
    });
    const agent = await startAgentProcess({
      ...berth.join,
      token: berth.joinToken,
      cpu: 64 * 1024,
      memory: 256 * 1024,
    });
    let ecs = new ECSClient(berth.clientConfig);
    try {
      const image = (await pushBusyboxImage(berth, "busybox")).uri;
      const definition = await register(ecs, "burst", image, { command: ["true"] });
      const tokens = Array.from({ length: 40 }, (_, i) => `burst-${i}`);
      const accepted = new Map<string, string>();
      let answered = 0;
      // The burst's last calls go no sooner than the crash: paced on the clock alone, all 40
      // were sent before the first answer on a loaded host (load 13, 6 runs in 8), and the
      // server answered them all before the test saw 8 answers and killed it.
      let crashing = (): void => undefined;
      const crash = new Promise<void>((resolve) => (crashing = resolve));
      const client = ecs;
      const calls = tokens.map(async (clientToken, i) => {
        await new Promise((resolve) => setTimeout(resolve, i * 15));
        if (i >= 24) await crash;
        try {
          const result = await client.send(
            new RunTaskCommand({ taskDefinition: definition, clientToken }),
          );
          accepted.set(clientToken, result.tasks?.[0]?.taskArn ?? "");
        } catch {
          // Refused or cut off by the crash: the outcome is unknown to this client.
        } finally {
          answered++;
        }
      });
      // Crash the server part-way through the burst.
      while (answered < 8) await new Promise((resolve) => setTimeout(resolve, 5));
      const killed = berth.kill(); // SIGKILL sent: what is sent from now on is not answered
      crashing();
      await killed;
      await Promise.all(calls);
      assert.ok(
        accepted.size > 0 && accepted.size < tokens.length,
        `${accepted.size} of ${tokens.length} answered before the crash`,
      );
      console.log(`accepted ${accepted.size} of ${tokens.length} before the crash`);

      // The agent is held (SIGSTOP) while the server is down past the host timeout and for a
      // moment after it is back: the new leader's first liveness passes see a host silent for
      // longer than the timeout and not connected. It gets one timeout from the leader's start.
      agent.process.kill("SIGSTOP");
      await new Promise((resolve) => setTimeout(resolve, 11_000));
      berth = await berth.restart();
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      agent.process.kill("SIGCONT");
      assert.doesNotMatch(berth.output(), /host lost/, "the host was not declared lost");
      ecs.destroy();
      ecs = new ECSClient(berth.clientConfig);
      // Clients retry what they never heard back about, with the same token.
      const all = new Map<string, string>();
      for (const clientToken of tokens) {
        const result = await ecs.send(
          new RunTaskCommand({ taskDefinition: definition, clientToken }),
        );
        const arn = result.tasks?.[0]?.taskArn ?? "";
        if (accepted.has(clientToken))
          assert.equal(arn, accepted.get(clientToken), `${clientToken} kept its task`);
        all.set(clientToken, arn);
      }
      const listed: string[] = [];
      for (const desiredStatus of ["RUNNING", "STOPPED"] as const) {
        let nextToken: string | undefined;
        do {
          const page = await ecs.send(
            new ListTasksCommand({ family: "burst", desiredStatus, nextToken }),
          );
          listed.push(...(page.taskArns ?? []));
          nextToken = page.nextToken;
        } while (nextToken !== undefined);
      }
      // A task that stopped between the two listings is in both: counted once. A second task for
      // a token would be another ARN, and the sets below would differ.
      const distinct = new Set(listed);
      assert.equal(distinct.size, tokens.length, "one task per token, none twice");
      assert.deepEqual(distinct, new Set(all.values()));
      // And the agent ran them all once it was back in touch.
      const stopped = await waitForTasksStopped(ecs, [...distinct]);
      const failed = stopped.filter((t) => t.containers?.[0]?.exitCode !== 0);
      assert.deepEqual(
        failed.map((t) => `${t.stopCode ?? ""}: ${t.stoppedReason ?? ""}`),
        [],
        "every task ran to exit 0",
      );
    } finally {
      ecs.destroy();
      agent.process.kill("SIGCONT");
      await agent.stop();
      await berth.stop();
      const { rmSync } = await import("node:fs");
      rmSync(berth.dataDir, { recursive: true, force: true });
    }
  });
});
