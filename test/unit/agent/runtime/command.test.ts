import assert from "node:assert/strict";
import { getPriority as osPriority } from "node:os";
import { test } from "node:test";
import { runCommand, startDaemon } from "../../../../src/agent/runtime/command.js";

const parentOf = async (): Promise<number> =>
  Number((await runCommand("sh", ["-c", "echo $PPID"])).stdout.trim());

test("host commands are started by the spawner process, not by the agent's own", async () => {
  const parent = await parentOf();
  assert.ok(parent > 0);
  assert.notEqual(parent, process.pid);
  // One spawner serves every command.
  assert.equal(await parentOf(), parent);
});

test("commands in flight together are started by two spawners side by side", async () => {
  // Both are in flight at once (each sleeps): the second goes to a spawner with none in flight.
  const parents = await Promise.all(
    [0, 1].map(async () =>
      Number((await runCommand("sh", ["-c", "sleep 0.3; echo $PPID"])).stdout.trim()),
    ),
  );
  assert.ok(parents.every((parent) => parent > 0 && parent !== process.pid));
  assert.notEqual(parents[0], parents[1], "the second command went to the second spawner");
});

test("a background command runs at the lowest CPU priority, others at ours", async () => {
  const niceness = async (background?: boolean): Promise<string> =>
    (await runCommand("nice", [], background === undefined ? {} : { background })).stdout.trim();
  assert.equal(await niceness(true), "19");
  assert.equal(await niceness(), String(osPriority()));
});

test("a background command is in the idle I/O class, others in ours, with no ionice before it", async () => {
  // `ionice` with no arguments prints its own class; its parent's command line says who started it.
  const ioClass = async (background: boolean): Promise<{ own: string; parent: string }> => {
    const { stdout } = await runCommand(
      "sh",
      ["-c", `ionice; tr '\\0' ' ' < /proc/$PPID/cmdline`],
      { background },
    );
    const [own = "", parent = ""] = stdout.split("\n");
    return { own: own.trim(), parent };
  };
  const background = await ioClass(true);
  assert.equal(background.own, "idle");
  assert.ok(background.parent.includes("spawner-process"), background.parent);
  const ours = (await runCommand("ionice", [])).stdout.trim();
  assert.notEqual(ours, "idle");
  assert.equal((await ioClass(false)).own, ours);
});

test("a background command is started by a spawner of its own at nice 19, with no nice before it", async () => {
  // What the command's parent is: its command line and its niceness (field 19 of its stat).
  const parent = async (background: boolean): Promise<{ argv: string[]; nice: number }> => {
    const { stdout } = await runCommand(
      "sh",
      ["-c", `tr '\\0' ' ' < /proc/$PPID/cmdline; echo; cut -d' ' -f19 /proc/$PPID/stat`],
      { background },
    );
    const [argv = "", nice = ""] = stdout.split("\n");
    return { argv: argv.trim().split(" "), nice: Number(nice) };
  };
  const background = await parent(true);
  assert.ok(
    background.argv.some((arg) => arg.includes("spawner-process")),
    background.argv.join(" "),
  );
  assert.ok(background.argv.includes("--background"), background.argv.join(" "));
  assert.equal(background.nice, 19);
  const foreground = await parent(false);
  assert.ok(!foreground.argv.includes("--background"), foreground.argv.join(" "));
  assert.equal(foreground.nice, osPriority());
});

test("a command's output, exit code, input and environment come back as they were", async () => {
  const ok = await runCommand("sh", ["-c", "cat; echo out; echo err >&2; echo $GREETING"], {
    input: "in\n",
    env: { PATH: process.env.PATH, GREETING: "hello" },
  });
  assert.deepEqual(ok, { stdout: "in\nout\nhello\n", stderr: "err\n", code: 0 });
  const failed = await runCommand("sh", ["-c", "echo why >&2; exit 3"], { allowFailure: true });
  assert.deepEqual(failed, { stdout: "", stderr: "why\n", code: 3 });
  await assert.rejects(runCommand("sh", ["-c", "echo why >&2; exit 3"]), /failed \(exit 3\): why/);
  await assert.rejects(
    runCommand("/nonexistent/berth-command", []),
    /\/nonexistent\/berth-command could not be started: .*ENOENT/,
  );
});

test("a lost spawner fails the command it had, and the next command gets a new one", async () => {
  const first = await parentOf();
  assert.notEqual(first, process.pid);
  const inFlight = runCommand("sleep", ["5"]);
  process.kill(first, "SIGKILL");
  await assert.rejects(inFlight, /the spawner exited \(SIGKILL\)/);
  const second = await parentOf();
  assert.notEqual(second, first);
  assert.notEqual(second, process.pid);
});

test("a daemon's first line on its sync pipe is its answer, while it keeps running", async () => {
  const { line } = await startDaemon("sh", ["-c", "echo $$ >&3; exec 3>&- 2>&-; exec sleep 30"], {
    PATH: process.env.PATH,
  });
  const pid = Number(line);
  assert.ok(pid > 0);
  // Still running: the answer did not wait for it to end.
  process.kill(pid, 0);
  process.kill(pid, "SIGKILL");
  // A pipe closed without a line, and a failed exit, are told apart.
  assert.deepEqual(await startDaemon("sh", ["-c", "echo why >&2; exec 3>&-; sleep 0.1"], {}), {
    line: undefined,
    stderr: "why\n",
  });
  await assert.rejects(
    startDaemon("sh", ["-c", "echo why >&2; exit 4"], {}),
    /sh exited with 4: why/,
  );
  await assert.rejects(startDaemon("/nonexistent/daemon", [], {}), /could not start: .*ENOENT/);
});

test("the spawner outlives a Ctrl-C to the agent's process group, for the agent's shutdown", async () => {
  const spawner = await parentOf();
  assert.notEqual(spawner, process.pid);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.kill(spawner, signal);
  assert.equal(await parentOf(), spawner);
});
