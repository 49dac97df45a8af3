// `berth exec`: commands inside running tasks, through a started Berth and real containers.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, before, describe, it } from "node:test";
import {
  DescribeTasksCommand,
  type ECSClient,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  StopTaskCommand,
  type ContainerDefinition,
} from "@aws-sdk/client-ecs";
import {
  BERTH_BIN,
  type BerthProcess,
  startEcsTestbed,
  type EcsTestbed,
} from "../../src/testing/index.js";

let bed: EcsTestbed;
let berth: BerthProcess;
let ecs: ECSClient;
let image: string;
const started: string[] = [];

before(async () => {
  bed = await startEcsTestbed();
  ({ berth, ecs, image } = bed);
});
after(async () => {
  for (const task of started)
    await ecs.send(new StopTaskCommand({ task, reason: "test over" })).catch(() => undefined);
  await bed.stop();
});

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `berth exec ARGS`, feeding `input` to its stdin. */
function berthExec(args: string[], input = "", secret?: string): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [BERTH_BIN, "exec", "--endpoint", berth.endpoint, ...args],
      {
        env:
          secret === undefined
            ? berth.berthEnv
            : { ...berth.berthEnv, BERTH_SECRET_ACCESS_KEY: secret },
      },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.stdin.end(input);
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

async function runningTask(
  family: string,
  containers: ContainerDefinition[],
  enableExecuteCommand: boolean,
): Promise<string> {
  const { taskDefinition } = await ecs.send(
    new RegisterTaskDefinitionCommand({
      family,
      requiresCompatibilities: ["FARGATE"],
      networkMode: "awsvpc",
      cpu: "256",
      memory: "512",
      containerDefinitions: containers.map((c) => ({ image, essential: true, ...c })),
    }),
  );
  const { tasks = [] } = await ecs.send(
    new RunTaskCommand({
      taskDefinition: taskDefinition?.taskDefinitionArn,
      enableExecuteCommand,
    }),
  );
  const taskArn = tasks[0]?.taskArn ?? "";
  started.push(taskArn);
  const deadline = Date.now() + 60_000;
  for (;;) {
    const { tasks: [task] = [] } = await ecs.send(new DescribeTasksCommand({ tasks: [taskArn] }));
    if (task?.lastStatus === "RUNNING") return taskArn;
    if (task?.lastStatus === "STOPPED" || Date.now() > deadline)
      assert.fail(`task did not start: ${task?.lastStatus ?? "?"} ${task?.stoppedReason ?? ""}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const sleeper = { name: "app", command: ["sleep", "3600"] };

describe("berth exec", () => {
  let task: string;
  before(async () => {
    task = await runningTask("exec-one", [sleeper], true);
  });

  it("streams stdout and stderr apart and returns the command's exit code", async () => {
    const result = await berthExec([task, "--", "sh", "-c", "echo out; echo err >&2; exit 3"]);
    assert.equal(result.code, 3);
    assert.equal(result.stdout, "out\n");
    assert.equal(result.stderr, "err\n");
  });

  it("runs inside the task's container, with its environment", async () => {
    const result = await berthExec([
      task.split("/").pop() ?? "",
      "--",
      "sh",
      "-c",
      'echo "$AWS_EXECUTION_ENV"; cat /proc/1/cmdline | tr "\\0" " "',
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, "AWS_ECS_FARGATE\nsleep 3600 ");
  });

  it("passes standard input with -i, and none without", async () => {
    const lines = Array.from({ length: 2000 }, (_, i) => `line ${i}`).join("\n") + "\n";
    const piped = await berthExec(["-i", task, "--", "cat"], lines);
    assert.equal(piped.code, 0, piped.stderr);
    assert.equal(piped.stdout, lines);
    const closed = await berthExec([task, "--", "cat"], "ignored\n");
    assert.equal(closed.code, 0);
    assert.equal(closed.stdout, "");
  });

  it("gives the command a terminal with -t", async () => {
    // The size reaches the container's terminal just after the command starts: asked again
    // until it is there (bounded).
    const result = await berthExec([
      "-t",
      task,
      "--",
      "sh",
      "-c",
      'tty; for i in $(seq 300); do s=$(stty size 2>/dev/null); [ -n "$s" ] && break; sleep 0.1; done; echo "$s"',
    ]);
    assert.equal(result.code, 0, result.stderr);
    // A line carries one CR per terminal that translated its newline (the container's and, while
    // the runtime sets it up, the one it copies to: seen once, on a loaded host); a
    // terminal shows CR CR LF as it shows CR LF.
    assert.match(result.stdout, /^\/dev\/pts\/\d+\r{0,2}\n24 80\r{0,2}\n$/);
    const plain = await berthExec([task, "--", "sh", "-c", "tty || true"]);
    assert.match(plain.stdout, /not a tty/);
  });

  it("a command that does not exist exits 127 with one clean line, as a shell says it", async () => {
    const missing = await berthExec([task, "--", "nosuch"]);
    assert.equal(missing.code, 127);
    assert.equal(missing.stdout, "");
    assert.equal(missing.stderr, 'berth exec: "nosuch": executable file not found in $PATH\n');
    const path = await berthExec([task, "--", "/no/such/binary"]);
    assert.equal(path.code, 127);
    assert.equal(
      path.stderr,
      'berth exec: "/no/such/binary": stat /no/such/binary: no such file or directory\n',
    );
    // On a terminal too (the runtime's line comes coloured there).
    const tty = await berthExec(["-t", task, "--", "nosuch"]);
    assert.equal(tty.code, 127);
    assert.equal(tty.stdout, "");
    assert.equal(tty.stderr, 'berth exec: "nosuch": executable file not found in $PATH\n');
    // A command that prints what looks like the runtime's line later is the command's output.
    const echoed = await berthExec([
      task,
      "--",
      "sh",
      "-c",
      'echo hi; echo "ERRO[0000] exec failed: x" >&2; exit 5',
    ]);
    assert.equal(echoed.code, 5);
    assert.equal(echoed.stderr, "ERRO[0000] exec failed: x\n");
  });

  it("-t sets TERM=xterm as docker exec does; without -t there is none", async () => {
    const tty = await berthExec(["-t", task, "--", "sh", "-c", 'echo "TERM=$TERM"']);
    assert.equal(tty.code, 0, tty.stderr);
    assert.match(tty.stdout, /^TERM=xterm\r?\n$/);
    const plain = await berthExec([task, "--", "sh", "-c", 'echo "TERM=$TERM"']);
    assert.equal(plain.stdout, "TERM=\n");
  });

  it("refuses a caller whose signature is wrong", async () => {
    const result = await berthExec([task, "--", "true"], "", "wrong-secret");
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /signature/i);
  });
});

describe("berth exec refusals", () => {
  it("refuses a task run without enableExecuteCommand, as ECS does", async () => {
    const task = await runningTask("exec-off", [sleeper], false);
    const result = await berthExec([task, "--", "true"]);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /InvalidParameterException.*execute command was not enabled/);
  });

  it("needs --container when the task has several, and finds the named one", async () => {
    const task = await runningTask(
      "exec-two",
      [sleeper, { ...sleeper, name: "side", environment: [{ name: "WHO", value: "side" }] }],
      true,
    );
    const unnamed = await berthExec([task, "--", "true"]);
    assert.notEqual(unnamed.code, 0);
    assert.match(unnamed.stderr, /container name must be specified/);
    const named = await berthExec(["--container", "side", task, "--", "sh", "-c", "echo $WHO"]);
    assert.equal(named.code, 0, named.stderr);
    assert.equal(named.stdout, "side\n");
    const unknown = await berthExec(["--container", "nope", task, "--", "true"]);
    assert.match(unknown.stderr, /container nope was not found/);
  });
});
