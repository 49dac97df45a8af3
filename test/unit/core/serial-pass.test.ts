/**
 * SerialPass, the one home of "one pass at a time, a kick during it makes one more": passes
 * never overlap, kicks during a pass collapse into exactly one more, a failure is logged and
 * does not lose the kick, a lost lease is only a warning, and nothing runs before start() or
 * after stop().
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { BerthError, SerialPass, silentLogger, type Logger } from "../../../src/core/index.js";

/** A pass that waits until released, counting starts and the most running at once. */
function gatedPass() {
  const state = { started: 0, running: 0, most: 0, release: () => undefined as void };
  let gate = Promise.resolve();
  const hold = () => {
    gate = new Promise<void>((resolve) => (state.release = resolve));
  };
  const pass = async () => {
    state.started++;
    state.running++;
    state.most = Math.max(state.most, state.running);
    await gate;
    state.running--;
  };
  return { state, pass, hold };
}

function recordingLog(): { log: Logger; lines: Array<[string, string]> } {
  const lines: Array<[string, string]> = [];
  const log: Logger = {
    ...silentLogger,
    warn: (message) => void lines.push(["warn", message]),
    error: (message) => void lines.push(["error", message]),
  };
  return { log, lines };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

test("kicks during a pass make exactly one more pass, never two at once", async () => {
  const { state, pass, hold } = gatedPass();
  const passes = new SerialPass(pass, silentLogger, { failed: "x" });
  passes.start();
  hold();
  const done = passes.kick();
  await tick();
  assert.equal(state.started, 1);
  for (let i = 0; i < 5; i++) void passes.kick();
  state.release();
  await done;
  assert.equal(state.started, 2, "five kicks during the pass make one more pass");
  assert.equal(state.most, 1, "passes never overlap");
  await passes.kick();
  assert.equal(state.started, 3, "a kick after the run starts a new one");
  await passes.stop();
});

test("a failed pass is logged and a kick during it still runs one more", async () => {
  const { log, lines } = recordingLog();
  let calls = 0;
  let kickDuring = (): void => undefined;
  const passes = new SerialPass(
    async () => {
      calls++;
      if (calls === 1) {
        kickDuring();
        throw new Error("store gone");
      }
    },
    log,
    { failed: "pass failed", level: "warn" },
  );
  kickDuring = () => void passes.kick();
  passes.start();
  await passes.kick();
  assert.equal(calls, 2);
  assert.deepEqual(lines, [["warn", "pass failed"]]);
});

test("a pass that throws before its first await is logged, and later kicks still run", async () => {
  const { log, lines } = recordingLog();
  let calls = 0;
  const passes = new SerialPass(
    () => {
      calls++;
      throw new Error("at once");
    },
    log,
    { failed: "pass failed" },
  );
  passes.start();
  await passes.kick();
  await passes.kick();
  assert.equal(calls, 2);
  assert.deepEqual(lines, [
    ["error", "pass failed"],
    ["error", "pass failed"],
  ]);
});

test("a lost lease is a warning with its own message; without one it is a failure", async () => {
  const lost = new BerthError("LeaseLost", "no longer leads", { fault: "server" });
  for (const [messages, expected] of [
    [{ failed: "failed", deposed: "deposed" }, ["warn", "deposed"]],
    [{ failed: "failed" }, ["error", "failed"]],
  ] as const) {
    const { log, lines } = recordingLog();
    const passes = new SerialPass(() => Promise.reject(lost), log, messages);
    passes.start();
    await passes.kick();
    assert.deepEqual(lines, [expected]);
  }
});

test("nothing runs before start() or after stop(); stop waits for the pass and lets none follow", async () => {
  const { state, pass, hold } = gatedPass();
  const passes = new SerialPass(pass, silentLogger, { failed: "x" });
  await passes.kick();
  assert.equal(state.started, 0, "a loop not started does nothing");
  passes.start();
  hold();
  void passes.kick();
  await tick();
  void passes.kick();
  let stopped = false;
  const stopping = passes.stop().then(() => (stopped = true));
  await tick();
  assert.equal(stopped, false, "stop waits for the pass under way");
  state.release();
  await stopping;
  assert.equal(state.started, 1, "the kick made during the pass is dropped by the stop");
  await passes.kick();
  assert.equal(state.started, 1);
  passes.start();
  await passes.kick();
  assert.equal(state.started, 2, "start() takes kicks again");
  await passes.stop();
});

test("start(interval) kicks on a timer until stopped", async () => {
  let calls = 0;
  const passes = new SerialPass(async () => void calls++, silentLogger, { failed: "x" });
  passes.start(5);
  while (calls < 3) await new Promise((resolve) => setTimeout(resolve, 5));
  await passes.stop();
  const after = calls;
  await new Promise((resolve) => setTimeout(resolve, 30));
  assert.equal(calls, after, "no timed pass after stop");
});
