// The `berth` CLI against a started Berth, as docker users drive it: tasks found in any cluster,
// one-line errors, `berth run`'s revisions, stops, capacity and pull failures, `berth top`'s q.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer, type AddressInfo } from "node:net";
import { cpus } from "node:os";
import { after, before, describe, it } from "node:test";
import {
  CreateClusterCommand,
  DescribeTasksCommand,
  ECSClient,
  ListTaskDefinitionsCommand,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  StopTaskCommand,
} from "@aws-sdk/client-ecs";
import {
  BERTH_BIN,
  pushBusyboxImage,
  startBerthProcess,
  until,
  type BerthProcess,
} from "../../src/testing/index.js";

let berth: BerthProcess;
let ecs: ECSClient;
let image: string;
const started: Array<{ cluster: string; task: string }> = [];

before(async () => {
  berth = await startBerthProcess();
  ecs = new ECSClient(berth.clientConfig);
  image = (await pushBusyboxImage(berth, "cli/busybox")).uri;
  await ecs.send(new CreateClusterCommand({ clusterName: "cli-other" }));
});
after(async () => {
  for (const { cluster, task } of started)
    await ecs.send(new StopTaskCommand({ cluster, task, reason: "test over" })).catch(() => {});
  ecs.destroy();
  await berth.stop();
});

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface Running {
  result: Promise<Result>;
  /** What it printed on stderr so far. */
  stderr(): string;
  signal(name: NodeJS.Signals): void;
}

/** Starts `berth ARGS` against the test's Berth. */
function start(args: string[], env: NodeJS.ProcessEnv = {}): Running {
  const child = spawn(process.execPath, [BERTH_BIN, ...args], {
    env: {
      ...berth.berthEnv,
      BERTH_ENDPOINT: berth.endpoint,
      ...env,
    },
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  child.stdin.end();
  return {
    result: new Promise((resolve, reject) => {
      child.on("error", reject);
      child.on("close", (code) => resolve({ code, stdout, stderr }));
    }),
    stderr: () => stderr,
    signal: (name) => child.kill(name),
  };
}

function berthCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Result> {
  return start(args, env).result;
}

async function runSleeper(cluster: string, family: string): Promise<string> {
  const { taskDefinition } = await ecs.send(
    new RegisterTaskDefinitionCommand({
      family,
      requiresCompatibilities: ["FARGATE"],
      networkMode: "awsvpc",
      cpu: "256",
      memory: "512",
      containerDefinitions: [
        { name: "app", image, essential: true, command: ["sh", "-c", "echo ready; sleep 3600"] },
      ],
    }),
  );
  const { tasks = [] } = await ecs.send(
    new RunTaskCommand({
      cluster,
      taskDefinition: taskDefinition?.taskDefinitionArn,
      enableExecuteCommand: true,
    }),
  );
  const taskArn = tasks[0]?.taskArn ?? "";
  started.push({ cluster, task: taskArn });
  await waitFor(
    `${family} RUNNING`,
    async () => {
      const { tasks: [task] = [] } = await ecs.send(
        new DescribeTasksCommand({ cluster, tasks: [taskArn] }),
      );
      if (task?.lastStatus === "STOPPED") assert.fail(`task stopped: ${task.stoppedReason}`);
      return task?.lastStatus === "RUNNING";
    },
    120_000,
  );
  return taskArn;
}

/** Waits until `holds` (a bounded wait, not a timing assertion). */
async function waitFor(
  what: string,
  holds: () => boolean | Promise<boolean>,
  timeoutMs = 120_000,
): Promise<void> {
  await until(
    what,
    async () => await holds(),
    (value) => value,
    { timeoutMs },
  );
}

const idOf = (arn: string): string => arn.split("/").pop() ?? arn;

describe("tasks in any cluster", () => {
  let other: string;
  let home: string;
  before(async () => {
    [other, home] = await Promise.all([
      runSleeper("cli-other", "cli-other"),
      runSleeper("default", "cli-home"),
    ]);
  });

  it("ps lists every cluster's tasks with a CLUSTER column; --cluster filters", async () => {
    const all = await berthCli(["ps"]);
    assert.equal(all.code, 0, all.stderr);
    const [header, ...rows] = all.stdout.trimEnd().split("\n");
    assert.match(header ?? "", /^TASK ID +CLUSTER +TASK DEFINITION +STATUS/);
    const row = (id: string): string | undefined => rows.find((r) => r.startsWith(id));
    assert.match(
      row(idOf(other)) ?? "",
      new RegExp(`^${idOf(other)} +cli-other +cli-other:1 +RUNNING`),
    );
    assert.match(row(idOf(home)) ?? "", new RegExp(`^${idOf(home)} +default +cli-home:1 +RUNNING`));
    const one = await berthCli(["ps", "--cluster", "cli-other"]);
    assert.equal(one.code, 0, one.stderr);
    assert.ok(one.stdout.includes(idOf(other)));
    assert.ok(!one.stdout.includes(idOf(home)));
  });

  it("logs and exec find a task by id in another cluster, and by ARN", async () => {
    for (const reference of [idOf(other), other]) {
      const logs = await berthCli(["logs", reference]);
      assert.equal(logs.code, 0, logs.stderr);
      assert.equal(logs.stdout, "ready\n");
      const exec = await berthCli(["exec", reference, "--", "sh", "-c", "echo in-$((6*7))"]);
      assert.equal(exec.code, 0, exec.stderr);
      assert.equal(exec.stdout, "in-42\n");
    }
  });

  it("an unknown task, or a task named in the wrong cluster, is one line, exit 1", async () => {
    const unknown = await berthCli(["logs", "0123456789abcdef0123456789abcdef"]);
    assert.equal(unknown.code, 1);
    assert.match(
      unknown.stderr,
      /^berth logs: no task 0123456789abcdef0123456789abcdef in any of the \d+ cluster\(s\)\. `berth ps -a` lists them\.\n$/,
    );
    const wrong = await berthCli(["stop", "--cluster", "default", idOf(other)]);
    assert.equal(wrong.code, 1);
    assert.equal(
      wrong.stderr,
      `berth stop: no task ${idOf(other)} in cluster default. \`berth ps -a\` lists the tasks of every cluster.\n`,
    );
  });

  it("keys that are not this Berth's are one line saying which keys to use", async () => {
    const result = await berthCli(["ps"], { BERTH_SECRET_ACCESS_KEY: "not-the-secret" });
    assert.equal(result.code, 1);
    assert.equal(result.stderr.split("\n").length, 2, result.stderr);
    assert.match(
      result.stderr,
      /^berth ps: An error occurred \(InvalidSignatureException\): .* The keys are not this Berth's: use the ones `berth up` printed/,
    );
  });

  it("stop finds the task by id in its cluster, with the reason given", async () => {
    const result = await berthCli(["stop", idOf(other), "--reason", "cli test"]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, `${other}\n`);
    const { tasks: [task] = [] } = await ecs.send(
      new DescribeTasksCommand({ cluster: "cli-other", tasks: [other] }),
    );
    assert.equal(task?.desiredStatus, "STOPPED");
    assert.equal(task?.stoppedReason, "cli test");
  });
});

describe("berth run", () => {
  it("reuses the family's revision while nothing changed, registers one when something did", async () => {
    const first = await berthCli(["run", image, "--", "echo", "one"]);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stdout, "one\n");
    const second = await berthCli(["run", image, "--", "echo", "one"]);
    assert.equal(second.code, 0, second.stderr);
    // The image is on the host now: nothing is fetched, nothing said about pulling.
    assert.ok(!second.stderr.includes("pulling"), second.stderr);
    const family = "run-cli-busybox";
    const list = async (): Promise<string[]> =>
      (await ecs.send(new ListTaskDefinitionsCommand({ familyPrefix: family })))
        .taskDefinitionArns ?? [];
    assert.deepEqual((await list()).map(idOf), [`${family}:1`]);
    const third = await berthCli(["run", "-e", "WHO=x", image, "--", "sh", "-c", "echo $WHO"]);
    assert.equal(third.stdout, "x\n");
    assert.deepEqual((await list()).map(idOf), [`${family}:1`, `${family}:2`]);
  });

  it("exits with the container's code, its stderr on stderr", async () => {
    const result = await berthCli([
      "run",
      image,
      "--",
      "sh",
      "-c",
      "echo out; echo err >&2; exit 3",
    ]);
    assert.equal(result.code, 3);
    assert.equal(result.stdout, "out\n");
    assert.match(result.stderr, /^task [0-9a-f]{32}\n(.*\n)*err\n$/);
  });

  it("Ctrl-C stops the task and says it waits for the stop timeout; the task's code comes back", async () => {
    const running = start([
      "run",
      "--stop-timeout",
      "2",
      image,
      "--",
      "sh",
      "-c",
      "echo up; sleep 600",
    ]);
    await waitFor("task id", () => running.stderr().includes("task "), 60_000);
    const id = /task ([0-9a-f]{32})/.exec(running.stderr())?.[1] ?? "";
    await waitFor(
      "RUNNING",
      async () => {
        const { tasks: [task] = [] } = await ecs.send(new DescribeTasksCommand({ tasks: [id] }));
        return task?.lastStatus === "RUNNING";
      },
      120_000,
    );
    running.signal("SIGINT");
    const result = await running.result;
    assert.match(
      result.stderr,
      /stopping the task: SIGTERM now, SIGKILL after its 2 s stop timeout\. Ctrl-C again to stop waiting\./,
    );
    // sh as PID 1 ignores SIGTERM: SIGKILL after the timeout.
    assert.equal(result.code, 137);
    const { tasks: [task] = [] } = await ecs.send(new DescribeTasksCommand({ tasks: [id] }));
    assert.equal(task?.lastStatus, "STOPPED");
    assert.equal(task?.stoppedReason, "Task stopped by user");
  });

  it("a second Ctrl-C stops waiting (130); the task goes on stopping", async () => {
    const running = start(["run", "--stop-timeout", "60", image, "--", "sleep", "600"]);
    await waitFor("task id", () => running.stderr().includes("task "), 60_000);
    const id = /task ([0-9a-f]{32})/.exec(running.stderr())?.[1] ?? "";
    started.push({ cluster: "default", task: id });
    await waitFor(
      "RUNNING",
      async () => {
        const { tasks: [task] = [] } = await ecs.send(new DescribeTasksCommand({ tasks: [id] }));
        return task?.lastStatus === "RUNNING";
      },
      120_000,
    );
    running.signal("SIGINT");
    await waitFor("first Ctrl-C", () => running.stderr().includes("stopping the task"));
    running.signal("SIGINT");
    const result = await running.result;
    assert.equal(result.code, 130);
    assert.match(result.stderr, /not waiting: the task keeps stopping/);
    const { tasks: [task] = [] } = await ecs.send(new DescribeTasksCommand({ tasks: [id] }));
    assert.equal(task?.desiredStatus, "STOPPED");
  });

  it("a pull failure names the registry and the cause", async () => {
    const missing = await berthCli(["run", `${new URL(berth.endpoint).host}/cli/nothing:v1`]);
    assert.equal(missing.code, 125);
    assert.match(
      missing.stderr,
      new RegExp(
        `berth run: the task stopped before it ran: CannotPullContainerError: ${new URL(berth.endpoint).host.replace(/\./g, "\\.")}/cli/nothing/manifests/v1: 404 `,
      ),
    );
    // A port nothing listens on (one just freed): the registry is named with the system's error.
    const free = createServer();
    await new Promise<void>((resolve) => free.listen(0, "127.0.0.1", resolve));
    const port = (free.address() as AddressInfo).port;
    await new Promise((resolve) => free.close(resolve));
    const refused = await berthCli(["run", `127.0.0.1:${port}/cli/nothing:v1`]);
    assert.equal(refused.code, 125);
    assert.match(
      refused.stderr,
      new RegExp(
        `berth run: the task stopped before it ran: CannotPullContainerError: 127\\.0\\.0\\.1:${port}: cannot connect \\(connect ECONNREFUSED 127\\.0\\.0\\.1:${port}\\)`,
      ),
    );
  });

  it("no room is RESOURCE:CPU, said with what a host offers", async (t) => {
    if (cpus().length >= 16) return t.skip("this host has room for 16 vCPU");
    const result = await berthCli(["run", "--cpu", "16384", "--memory", "32768", image]);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, "");
    assert.equal(
      result.stderr,
      "berth run: no host has room for 16384 CPU units and 32768 MiB (RESOURCE:CPU): a host offers 1024 CPU units per core, and running tasks hold theirs until they stop. `berth ps` lists them; stop some, ask for less --cpu, or add a host with `berth agent`.\n",
    );
  });
});

describe("berth up's banner and berth top", () => {
  it("the banner exports BERTH_ENDPOINT when the endpoint is not the default", () => {
    assert.ok(
      berth.output().includes(`\n  export BERTH_ENDPOINT=${berth.endpoint}\n`),
      berth.output(),
    );
  });

  it("berth top quits on q from its terminal", async () => {
    // script(1) gives berth top a terminal and passes our input to it.
    const command = `${process.execPath} ${BERTH_BIN} top --interval 600 --endpoint ${berth.endpoint}`;
    const child = spawn("script", ["--quiet", "--return", "--command", command, "/dev/null"]);
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
    const closed = new Promise<number | null>((resolve) => child.on("close", resolve));
    await waitFor("the table", () => output.includes("SERVICE"), 60_000);
    child.stdin.write("q");
    // The interval is 10 minutes: only the key ends it within the wait.
    const code = await Promise.race([
      closed,
      new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), 120_000)),
    ]);
    if (code === "timeout") child.kill("SIGKILL");
    assert.equal(code, 0, output);
  });
});
