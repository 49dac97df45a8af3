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

async function writeJson(file: string, value: unknown): Promise<void> {
  // A temp name of its own: two writers of one record (an exit seen by two callers at once)
  // must not rename each other's file away.
  const temp = `${file}.${randomUUID()}.tmp`;
  await writeFile(temp, JSON.stringify(value, null, 2), { mode: PRIVATE_FILE });
  await rename(temp, file);
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
  const text = await readText(file);
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
    await rm(join(this.sandboxesDir, `${taskId}.json`), { force: true });
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
    await rm(this.containerDir(id), { recursive: true, force: true });
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
