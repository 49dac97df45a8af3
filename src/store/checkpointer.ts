/**
 * SQLite's WAL checkpoints, off the event loop: a worker thread with a connection of its own
 * copies committed pages from the WAL into the database file (`wal_checkpoint(PASSIVE)`, which
 * never waits for the server's connection nor holds it up), and the server's connection no
 * longer checkpoints when it commits (`wal_autocheckpoint = 0`). Run by the committing
 * connection, a checkpoint (and its fsyncs: under `synchronous = NORMAL` the only ones) held the
 * event loop: in bench:placement on SQLite, with checkpoints off, commits fell from 19% to 12%
 * of the server's CPU profile. What a commit guarantees is unchanged: the WAL holds it either way.
 *
 * Should the worker fail, the server's connection checkpoints again itself.
 */
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import type SQLite from "better-sqlite3";

/** How often the worker checkpoints (a pass with nothing to copy costs a few microseconds). */
const EVERY_MS = 100;
/** SQLite's default: a commit checkpoints once the WAL holds this many pages. */
const AUTOCHECKPOINT_PAGES = 1000;
/** How long closing waits for the worker's connection to close (a checkpoint in progress). */
const CLOSE_WAIT_MS = 5_000;

// CommonJS (an eval worker): better-sqlite3 is required by its resolved path.
const WORKER = `
const { parentPort, workerData } = require("node:worker_threads");
const SQLite = require(workerData.module);
const db = new SQLite(workerData.path);
const timer = setInterval(() => {
  try {
    db.pragma("wal_checkpoint(PASSIVE)");
  } catch (error) {
    parentPort.postMessage({ failed: String(error) });
  }
}, workerData.everyMs);
parentPort.on("message", () => {
  clearInterval(timer);
  try { db.close(); } finally {
    Atomics.store(workerData.closed, 0, 1);
    Atomics.notify(workerData.closed, 0);
    parentPort.close();
  }
});
`;

export interface Checkpointer {
  /** Stops the worker and waits (at most a few seconds) for its connection to close. */
  close(): void;
}

/**
 * Checkpoints `sqlite`'s file (at `path`) from a worker thread from now on. `onFailure` hears
 * of a failed checkpoint or a worker that ended; the connection checkpoints itself again then.
 */
export function checkpointOffLoop(
  sqlite: SQLite.Database,
  path: string,
  onFailure: (reason: string) => void = () => undefined,
): Checkpointer {
  const closed = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(WORKER, {
    eval: true,
    workerData: {
      module: createRequire(import.meta.url).resolve("better-sqlite3"),
      path,
      everyMs: EVERY_MS,
      closed,
    },
  });
  // The server's connection is not kept open by its checkpointer.
  worker.unref();
  let closing = false;
  let exited = false;
  const selfCheckpoint = (reason: string): void => {
    if (closing || !sqlite.open) return;
    sqlite.pragma(`wal_autocheckpoint = ${AUTOCHECKPOINT_PAGES}`);
    onFailure(reason);
  };
  worker.on("message", (message: { failed?: string }) => {
    if (message.failed !== undefined) selfCheckpoint(message.failed);
  });
  worker.on("error", (error) => selfCheckpoint(String(error)));
  worker.on("exit", (code) => {
    exited = true;
    selfCheckpoint(`checkpoint worker exited (${code})`);
  });
  sqlite.pragma("wal_autocheckpoint = 0");
  return {
    close(): void {
      if (closing) return;
      closing = true;
      if (exited) return;
      worker.postMessage("close");
      // Synchronous, as closing the store is: the server's connection, closed last, then
      // checkpoints the rest and removes the WAL.
      Atomics.wait(closed, 0, 0, CLOSE_WAIT_MS);
    },
  };
}
