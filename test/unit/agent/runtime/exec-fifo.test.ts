/**
 * Starting a runc container through its exec.fifo (oci-cli.ts), as `runc start` does: a process
 * stands in for runc's init, blocked opening the fifo for writing until the start reads it.
 */
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, it } from "node:test";
import { startThroughExecFifo } from "../../../../src/agent/runtime/oci-cli.js";

const dir = mkdtempSync(join(tmpdir(), "berth-exec-fifo-"));
after(() => rmSync(dir, { recursive: true, force: true }));

let count = 0;
/** A fifo, and a stand-in init running `script` with it as $0's first argument. */
function init(script: string): { fifo: string; pid: number; exited: Promise<unknown> } {
  const fifo = join(dir, `exec-${count++}.fifo`);
  execFileSync("mkfifo", ["-m", "0600", fifo]);
  const child = spawn("sh", ["-c", script, "init", fifo], { stdio: "ignore" });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  return { fifo, pid: child.pid as number, exited };
}

it("lets a waiting init go on, as runc start does, and removes the fifo", async () => {
  // The init writes "0" once the start has opened the fifo, then goes on (execs, in runc).
  const waiting = init('printf 0 > "$1" && echo started > "$1.out"');
  await startThroughExecFifo(waiting.fifo, waiting.pid);
  await waiting.exited;
  assert.equal(existsSync(waiting.fifo), false, "the fifo is removed: the container is running");
  assert.equal(existsSync(`${waiting.fifo}.out`), true, "the init went on past the fifo");
});

it("fails, rather than waits for ever, when the init died before it was started", async () => {
  // Never opens the fifo: a start that only waited for its writer would never return.
  const dead = init("exit 0");
  await dead.exited;
  await assert.rejects(startThroughExecFifo(dead.fifo, dead.pid), /ended before it was started/);
  assert.equal(existsSync(dead.fifo), true, "a failed start leaves the fifo as runc does");
});

it("fails when the init closed the fifo without a word", async () => {
  const silent = init(': > "$1"; sleep 1');
  await assert.rejects(
    startThroughExecFifo(silent.fifo, silent.pid),
    /ended before it was started/,
  );
  await silent.exited;
});

it(
  "holds no thread while it waits: inits that never come do not hold up other starts",
  { timeout: 20_000 },
  async () => {
    // More waiting starts than libuv's thread pool has threads (4): a start that waited in a
    // blocking open or read would take them all, and the start below (and every fs call of the
    // process) would wait until these inits died.
    const stalled = Array.from({ length: 6 }, () => init("sleep 3"));
    let stalledSettled = 0;
    const waits = stalled.map((s) =>
      startThroughExecFifo(s.fifo, s.pid).then(
        () => stalledSettled++,
        () => stalledSettled++,
      ),
    );
    const waiting = init('printf 0 > "$1"');
    await startThroughExecFifo(waiting.fifo, waiting.pid);
    assert.equal(stalledSettled, 0, "the other starts still wait for their inits");
    assert.equal(existsSync(waiting.fifo), false);
    await Promise.all(waits);
    assert.equal(stalledSettled, 6, "every start ended once its init was gone");
  },
);
