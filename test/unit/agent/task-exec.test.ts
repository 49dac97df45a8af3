// The runtime's own "could not start" line, told apart from a command's output.
import assert from "node:assert/strict";
import { it } from "node:test";
import { runtimeStartFailure, TaskExecServer } from "../../../src/agent/task-exec.js";

it("reads runc's log line for a command not found, or not there", () => {
  assert.equal(
    runtimeStartFailure(
      'time="2026-12-05T09:01:07Z" level=error msg="exec failed: unable to start container process: exec: \\"nosuch\\": executable file not found in $PATH"\n',
    ),
    '"nosuch": executable file not found in $PATH',
  );
  assert.equal(
    runtimeStartFailure(
      'time="2026-12-05T09:01:00Z" level=error msg="exec failed: unable to start container process: exec: \\"/no/such\\": stat /no/such: no such file or directory"\n',
    ),
    '"/no/such": stat /no/such: no such file or directory',
  );
});

it("reads runc's coloured line on a terminal", () => {
  assert.equal(
    runtimeStartFailure(
      '\x1b[31mERRO\x1b[0m[0000] exec failed: unable to start container process: exec: "nosuch": executable file not found in $PATH \r\n',
    ),
    '"nosuch": executable file not found in $PATH',
  );
});

it("leaves anything else to be the command's output", () => {
  for (const text of [
    "hello\n",
    'time="x" level=info msg="exec failed: no"\n',
    'time="x" level=error msg="something else"\n',
    "ERRO[0000] other trouble\n",
    "",
  ])
    assert.equal(runtimeStartFailure(text), undefined, JSON.stringify(text));
});

it("applies a session's resizes in the order asked, even when the first is slow", async () => {
  const { EventEmitter } = await import("node:events");
  const { PassThrough } = await import("node:stream");
  const child = Object.assign(new EventEmitter(), {
    stdin: new PassThrough(),
    stdout: new PassThrough(),
    stderr: new PassThrough(),
    kill: () => true,
  });
  const applied: string[] = [];
  const runtime = {
    spawnExec: async () => child,
    // The first resize takes longer than the second: run side by side, it would land last.
    resizeExec: async (_child: unknown, cols: number, rows: number) => {
      await new Promise((resolve) => setTimeout(resolve, cols === 90 && rows === 45 ? 50 : 1));
      applied.push(`${cols}x${rows}`);
    },
  };
  const tasks = {
    get: () => ({
      containerIds: () => [{ name: "app", id: "c1" }],
      state: { containers: [{ name: "app", lastStatus: "RUNNING" }] },
    }),
  };
  const log = {
    debug: () => undefined,
    info: () => undefined,
    warn: () => undefined,
    error: () => undefined,
  };
  const server = new TaskExecServer(
    tasks as unknown as ConstructorParameters<typeof TaskExecServer>[0],
    runtime as unknown as ConstructorParameters<typeof TaskExecServer>[1],
    () => undefined,
    log as unknown as ConstructorParameters<typeof TaskExecServer>[3],
  );
  server.serve({
    type: "exec",
    requestId: "r1",
    taskArn: "t",
    container: "app",
    command: ["sh"],
    tty: true,
  });
  await new Promise((resolve) => setImmediate(resolve));
  server.resize({ type: "execResize", requestId: "r1", cols: 90, rows: 45 });
  server.resize({ type: "execResize", requestId: "r1", cols: 90, rows: 20 });
  await new Promise((resolve) => setTimeout(resolve, 150));
  assert.deepEqual(applied, ["90x45", "90x20"]);
});
