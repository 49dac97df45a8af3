/**
 * What the runtime keeps on disk so that a restarted agent knows its sandboxes and containers:
 * one JSON file per sandbox and per container, written atomically (temp file + rename).
 *
 * Layout under the agent data dir:
 *   sandboxes/<taskId>.json
 *   containers/<id>/container.json   the record; beside it the bundle (config.json), the log
 *                                    (ctr.log), /etc files and conmon's pid and persist files
 *   exits/<id>                        conmon's exit file (the exit code)
 */
import { randomUUID } from "node:crypto";
import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { PRIVATE_DIR, PRIVATE_FILE } from "../../core/index.js";
import type { ContainerExit, RootfsSource } from "./types.js";

export interface SandboxRecord {
  taskId: string;
  /** The OCI runtime of the task's containers; the runtime's default when absent. */
  runtime?: string;
  cpu?: number;
  memoryMiB?: number;
  pidsLimit: number;
  /** The task's RLIMIT_NOFILE ceiling (host-tables.ts); absent in older records. */
  nofileLimit?: number;
  netnsPath: string;
  cgroupPath: string;
  /** `task`: the containers share the pause container's PID namespace. */
  pidMode?: "task";
  createdAt: string;
}

export interface ContainerRecord {
  id: string;
  taskId: string;
  name: string;
  labels: Record<string, string>;
  rootfs: RootfsSource;
  cgroupPath: string;
  /** As its sandbox's. */
  runtime?: string;
  createdAt: string;
  startedAt?: string;
  exit?: { exitCode: number; oomKilled: boolean; finishedAt: string };
}

export function toExit(record: NonNullable<ContainerRecord["exit"]>): ContainerExit {
  return { ...record, finishedAt: new Date(record.finishedAt) };
}

/**
 * The records this process wrote, by file: read back from here, not from the disk (a launch and
 * a stop read a container's record about ten times, each an open, a stat, a read and a close on
 * the thread pool). Write-through: the file is written first, and the disk stays what a
 * restarted agent reads. Only this process writes these files (one agent holds a data dir's
 * lock), and its writes of one file go one after another, so what it wrote last is what the
 * file holds. A write that a removal overlapped is not kept (a removal counts itself in the
 * file's queue), nor a record read from the disk (one an earlier agent wrote): either could
 * put back what a removal took away. What is not here is read from the disk.
 */
const written = new Map<string, string>();

/** A file's writes, one after another (the last one queued), and the removals they overlapped. */
interface WriteQueue {
  last: Promise<void>;
  removals: number;
}
const queues = new Map<string, WriteQueue>();

function writeJson(file: string, value: unknown): Promise<void> {
  const text = JSON.stringify(value, null, 2);
  const queue = queues.get(file) ?? { last: Promise.resolve(), removals: 0 };
  queues.set(file, queue);
  const removals = queue.removals;
  const write = queue.last.then(async () => {
    // A temp name of its own: a write left half done by a crash is never renamed in.
    const temp = `${file}.${randomUUID()}.tmp`;
    await writeFile(temp, text, { mode: PRIVATE_FILE });
    await rename(temp, file);
    if (queue.removals === removals) written.set(file, text);
  });
  const last = write.catch(() => undefined);
  queue.last = last;
  void last.then(() => {
    if (queue.last === last && queues.get(file) === queue) queues.delete(file);
  });
  return write;
}

/** Deletes `file` (with `remove`), forgetting what was written to it. */
async function removing(file: string, remove: () => Promise<void>): Promise<void> {
  const forget = (): void => {
    written.delete(file);
    const queue = queues.get(file);
    if (queue !== undefined) queue.removals++;
  };
  forget();
  try {
    await remove();
  } finally {
    forget();
  }
}

/** Errors that say "try again": descriptors or memory ran out for a moment (a flood, a burst). */
const TRANSIENT = new Set(["EMFILE", "ENFILE", "EAGAIN", "ENOMEM"]);
const ATTEMPTS = 20;

const errorCode = (error: unknown): string => String((error as { code?: unknown } | null)?.code);

/**
 * Reads a file; undefined only when it does not exist. Running out of descriptors is not
 * "absent": read as absent, it made a flood of connections look like lost containers, whose
 * watchers then gave up. It is retried a while, then surfaced.
 */
async function readText(file: string): Promise<string | undefined> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await readFile(file, "utf8");
    } catch (error) {
      if (errorCode(error) === "ENOENT") return undefined;
      if (!TRANSIENT.has(errorCode(error)) || attempt >= ATTEMPTS) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
    }
  }
}

async function readJson<T>(file: string): Promise<T | undefined> {
  // A copy each time: callers change the record they read before writing it again.
  const text = written.get(file) ?? (await readText(file));
  // Records are written by rename, never torn: one that does not parse is not a record.
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}

async function listDir(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (error) {
    if (errorCode(error) === "ENOENT") return [];
    throw error;
  }
}

export class RecordStore {
  readonly sandboxesDir: string;
  readonly containersDir: string;
  readonly exitsDir: string;

  constructor(dataDir: string) {
    this.sandboxesDir = join(dataDir, "sandboxes");
    this.containersDir = join(dataDir, "containers");
    this.exitsDir = join(dataDir, "exits");
  }

  async init(): Promise<void> {
    for (const dir of [this.sandboxesDir, this.containersDir, this.exitsDir]) {
      await mkdir(dir, { recursive: true, mode: PRIVATE_DIR });
    }
  }

  containerDir(id: string): string {
    return join(this.containersDir, id);
  }

  exitFile(id: string): string {
    return join(this.exitsDir, id);
  }

  getSandbox(taskId: string): Promise<SandboxRecord | undefined> {
    return readJson(join(this.sandboxesDir, `${taskId}.json`));
  }

  putSandbox(record: SandboxRecord): Promise<void> {
    return writeJson(join(this.sandboxesDir, `${record.taskId}.json`), record);
  }

  async removeSandbox(taskId: string): Promise<void> {
    const file = join(this.sandboxesDir, `${taskId}.json`);
    await removing(file, () => rm(file, { force: true }));
  }

  async listSandboxes(): Promise<SandboxRecord[]> {
    const names = await listDir(this.sandboxesDir);
    const records = await Promise.all(
      names
        .filter((name) => name.endsWith(".json"))
        .map((name) => readJson<SandboxRecord>(join(this.sandboxesDir, name))),
    );
    return records.filter((r): r is SandboxRecord => r !== undefined);
  }

  getContainer(id: string): Promise<ContainerRecord | undefined> {
    return readJson(join(this.containerDir(id), "container.json"));
  }

  putContainer(record: ContainerRecord): Promise<void> {
    return writeJson(join(this.containerDir(record.id), "container.json"), record);
  }

  async removeContainer(id: string): Promise<void> {
    await removing(join(this.containerDir(id), "container.json"), () =>
      rm(this.containerDir(id), { recursive: true, force: true }),
    );
    await rm(this.exitFile(id), { force: true });
  }

  async listContainers(): Promise<ContainerRecord[]> {
    const names = await listDir(this.containersDir);
    const records = await Promise.all(names.map((name) => this.getContainer(name)));
    return records.filter((r): r is ContainerRecord => r !== undefined);
  }

  /** The exit code conmon recorded, or undefined while the container runs. */
  async readExitCode(id: string): Promise<number | undefined> {
    const text = (await readText(this.exitFile(id)))?.trim();
    return text === undefined || text === "" ? undefined : Number(text);
  }
}
