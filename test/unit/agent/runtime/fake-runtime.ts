/**
 * An in-memory ContainerRuntime for unit tests of the task layer: sandboxes and containers are
 * records, a container's process is a FakeProcess (fake-program.ts), logs are kept lines. It
 * keeps the runtime contract (contract-suite.ts runs against it, without root): state lives per
 * data dir, so a second instance over the same dir sees the first's containers, as on disk.
 * Tests may also make a container die of OOM, or fail a start.
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { BerthError } from "../../../../src/core/index.js";
import {
  RuntimeErrorCode,
  type ContainerExit,
  type ContainerInfo,
  type ContainerRuntime,
  type ContainerSpec,
  type HostFootprint,
  type LogLine,
  type ReadLogsOptions,
  type RuntimeOptions,
  type SandboxUsage,
  type TaskSandbox,
  type TaskSandboxSpec,
  type TaskStorage,
  type TaskStorageSpec,
} from "../../../../src/agent/runtime/index.js";
import { FakeProcess } from "./fake-program.js";

interface FakeContainer {
  spec: ContainerSpec;
  info: ContainerInfo;
  logs: LogLine[];
  process?: FakeProcess;
  oom: boolean;
  /** Wakes log followers and waiters. */
  changed: Set<() => void>;
}

interface FakeHost {
  sandboxes: Map<string, TaskSandbox>;
  containers: Map<string, FakeContainer>;
}

/** The "disk": one host state per data dir. */
const hosts = new Map<string, FakeHost>();

export class FakeContainerRuntime implements ContainerRuntime {
  readonly kind = "runc";
  readonly #host: FakeHost;
  /** A test's way to make `createContainer` fail for a container. */
  createFault: ((spec: ContainerSpec) => Error | undefined) | undefined;
  /** A test's way to make `startContainer` fail for a container. */
  startFault: ((spec: ContainerSpec) => Error | undefined) | undefined;
  /** A test's way to make `prepareSandbox` fail (a cgroup that cannot be made). */
  sandboxFault: ((spec: TaskSandboxSpec) => Error | undefined) | undefined;
  /** A test's way to make `destroySandbox` fail (a cgroup that cannot be removed). */
  destroyFault: ((taskId: string) => Error | undefined) | undefined;
  /** A test's way to make `waitContainer` fail (descriptors exhausted while reading a record). */
  waitFault: ((id: string) => Error | undefined) | undefined;
  /** How often each was called, faults included. */
  readonly calls = { prepareSandbox: 0, destroySandbox: 0 };
  /** A test's health check results: the exit code of `execInContainer`, else the program's. */
  execResult: ((id: string, args: string[]) => number | undefined) | undefined;

  constructor(options: Pick<RuntimeOptions, "dataDir">) {
    let host = hosts.get(options.dataDir);
    if (host === undefined) {
      host = { sandboxes: new Map(), containers: new Map() };
      hosts.set(options.dataDir, host);
    }
    this.#host = host;
  }

  prepareSandbox(spec: TaskSandboxSpec): Promise<TaskSandbox> {
    this.calls.prepareSandbox++;
    const fault = this.sandboxFault?.(spec);
    if (fault !== undefined) return Promise.reject(fault);
    const existing = this.#host.sandboxes.get(spec.taskId);
    if (existing !== undefined) return Promise.resolve(existing);
    const sandbox: TaskSandbox = {
      taskId: spec.taskId,
      ...(spec.runtime === undefined ? {} : { runtime: spec.runtime }),
      ...(spec.cpu === undefined ? {} : { cpu: spec.cpu }),
      ...(spec.memoryMiB === undefined ? {} : { memoryMiB: spec.memoryMiB }),
      pidsLimit: spec.pidsLimit ?? 4096,
      netnsPath: `/fake/netns/${spec.taskId}`,
      cgroupPath: `/berth/${spec.taskId}`,
      networkBeforeCreate: false,
      createdAt: new Date(),
    };
    this.#host.sandboxes.set(spec.taskId, sandbox);
    return Promise.resolve(sandbox);
  }

  prepareStorage(spec: TaskStorageSpec): Promise<TaskStorage> {
    const path = `/fake/storage/${spec.taskId}`;
    return Promise.resolve({
      path,
      volumes: Object.fromEntries((spec.volumes ?? []).map((v) => [v, `${path}/volumes/${v}`])),
    });
  }

  async destroySandbox(taskId: string): Promise<void> {
    this.calls.destroySandbox++;
    const fault = this.destroyFault?.(taskId);
    if (fault !== undefined) throw fault;
    for (const [id, container] of this.#host.containers)
      if (container.spec.taskId === taskId) await this.deleteContainer(id);
    this.#host.sandboxes.delete(taskId);
  }

  createContainer(spec: ContainerSpec): Promise<ContainerInfo> {
    if (!this.#host.sandboxes.has(spec.taskId))
      return Promise.reject(
        new BerthError(RuntimeErrorCode.SandboxNotFound, `no sandbox for task ${spec.taskId}`),
      );
    if (this.#host.containers.has(spec.id))
      return Promise.reject(
        new BerthError(RuntimeErrorCode.ContainerExists, `container ${spec.id} exists`),
      );
    const fault = this.createFault?.(spec);
    if (fault !== undefined) return Promise.reject(fault);
    if (spec.args.length === 0)
      return Promise.reject(new BerthError(RuntimeErrorCode.InvalidSpec, "args must not be empty"));
    const unknownUser = userMissing(spec);
    if (unknownUser !== undefined)
      return Promise.reject(
        new BerthError(
          RuntimeErrorCode.UserNotFound,
          `unable to find user ${unknownUser}: no matching entries in passwd file`,
        ),
      );
    const info: ContainerInfo = {
      id: spec.id,
      taskId: spec.taskId,
      name: spec.name,
      status: "created",
      labels: { ...(spec.labels ?? {}) },
      createdAt: new Date(),
    };
    this.#host.containers.set(spec.id, { spec, info, logs: [], oom: false, changed: new Set() });
    return Promise.resolve({ ...info });
  }

  startContainer(id: string): Promise<ContainerInfo> {
    const container = this.#host.containers.get(id);
    if (container === undefined) return Promise.reject(notFound(id));
    const fault = this.startFault?.(container.spec);
    if (fault !== undefined) return Promise.reject(fault);
    if (container.info.status !== "created")
      return Promise.reject(
        new BerthError(RuntimeErrorCode.RuntimeFailed, `container ${id} is not created`),
      );
    const process = new FakeProcess(
      container.spec.args,
      {
        env: container.spec.env ?? {},
        write: (stream, text) => {
          container.logs.push({ stream, time: new Date().toISOString(), text });
          wake(container);
        },
      },
      container.spec.initProcessEnabled === true,
    );
    container.process = process;
    container.info.status = "running";
    container.info.startedAt = new Date();
    void process.exited.then((exitCode) => {
      container.info.status = "stopped";
      container.info.exit = {
        exitCode: container.oom ? 137 : exitCode,
        oomKilled: container.oom,
        finishedAt: new Date(),
      };
      wake(container);
    });
    return Promise.resolve({ ...container.info });
  }

  /** Ends a running container as the kernel's OOM killer would. */
  oomKill(id: string): void {
    const container = this.#host.containers.get(id);
    if (container?.process === undefined) return;
    container.oom = true;
    container.process.signal("SIGKILL");
  }

  async execInContainer(id: string, args: string[], timeoutMs: number): Promise<number> {
    const container = this.#running(id);
    const forced = this.execResult?.(id, args);
    if (forced !== undefined) return forced;
    const process = new FakeProcess(
      args,
      { env: container.spec.env ?? {}, write: () => undefined },
      false,
    );
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<number>(
      (resolve) => (timer = setTimeout(() => resolve(124), timeoutMs)),
    );
    const code = await Promise.race([process.exited, timedOut]);
    clearTimeout(timer);
    process.signal("SIGKILL");
    return code;
  }

  /** Runs the command on this host (unit tests only: a fake has no container to enter). */
  spawnExec(id: string, args: string[]): Promise<ChildProcessWithoutNullStreams> {
    this.#running(id);
    return Promise.resolve(spawn(args[0] as string, args.slice(1)));
  }

  resizeExec(): Promise<void> {
    return Promise.resolve();
  }

  signalContainer(id: string, signal: NodeJS.Signals): Promise<void> {
    this.#host.containers.get(id)?.process?.signal(signal);
    return Promise.resolve();
  }

  async stopContainer(id: string, timeoutMs: number): Promise<ContainerExit> {
    const container = this.#host.containers.get(id);
    if (container === undefined) throw notFound(id);
    container.process?.signal("SIGTERM");
    const timer = setTimeout(() => container.process?.signal("SIGKILL"), timeoutMs);
    try {
      return await this.waitContainer(id);
    } finally {
      clearTimeout(timer);
    }
  }

  waitContainer(id: string, signal?: AbortSignal): Promise<ContainerExit> {
    const fault = this.waitFault?.(id);
    if (fault !== undefined) return Promise.reject(fault);
    const container = this.#host.containers.get(id);
    if (container === undefined) return Promise.reject(notFound(id));
    return new Promise((resolve, reject) => {
      const check = () => {
        if (container.info.exit !== undefined) {
          container.changed.delete(check);
          resolve(container.info.exit);
        } else if (!this.#host.containers.has(id)) {
          container.changed.delete(check);
          reject(notFound(id));
        }
      };
      signal?.addEventListener("abort", () => {
        container.changed.delete(check);
        reject(signal.reason as Error);
      });
      container.changed.add(check);
      check();
    });
  }

  inspectContainer(id: string): Promise<ContainerInfo | undefined> {
    const container = this.#host.containers.get(id);
    return Promise.resolve(container === undefined ? undefined : { ...container.info });
  }

  async *readLogs(id: string, options: ReadLogsOptions = {}): AsyncIterable<LogLine> {
    const container = this.#host.containers.get(id);
    if (container === undefined) throw notFound(id);
    let next = 0;
    for (;;) {
      while (next < container.logs.length) yield container.logs[next++] as LogLine;
      if (options.follow !== true || container.info.status === "stopped") return;
      if (options.signal?.aborted === true) return;
      await new Promise<void>((resolve) => {
        const woken = () => {
          container.changed.delete(woken);
          resolve();
        };
        container.changed.add(woken);
      });
    }
  }

  deleteContainer(id: string): Promise<void> {
    const container = this.#host.containers.get(id);
    if (container === undefined) return Promise.resolve();
    container.process?.signal("SIGKILL");
    this.#host.containers.delete(id);
    wake(container);
    return Promise.resolve();
  }

  list(): Promise<{ sandboxes: TaskSandbox[]; containers: ContainerInfo[] }> {
    return Promise.resolve({
      sandboxes: [...this.#host.sandboxes.values()],
      containers: [...this.#host.containers.values()].map((c) => ({ ...c.info })),
    });
  }

  sandboxUsage(): Promise<SandboxUsage> {
    return Promise.resolve({ cpuNanos: 0, memoryBytes: 0, pids: 0 });
  }

  containerUsage(): Promise<SandboxUsage> {
    return Promise.resolve({ cpuNanos: 0, memoryBytes: 0, pids: 0 });
  }

  footprint(): Promise<HostFootprint> {
    const running = [...this.#host.containers.values()].filter((c) => c.info.status === "running");
    return Promise.resolve({
      mounts: 0,
      loopDevices: 0,
      cgroups: this.#host.sandboxes.size,
      runtimeStates: this.#host.containers.size,
      netns: this.#host.sandboxes.size,
      monitors: running.length,
    });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  #running(id: string): FakeContainer {
    const container = this.#host.containers.get(id);
    if (container === undefined) throw notFound(id);
    if (container.info.status !== "running")
      throw new BerthError(RuntimeErrorCode.ContainerNotRunning, `container ${id} is not running`);
    return container;
  }
}

function wake(container: FakeContainer): void {
  for (const woken of [...container.changed]) woken();
}

function notFound(id: string): BerthError {
  return new BerthError(RuntimeErrorCode.ContainerNotFound, `container ${id} not found`);
}

/** The user a spec names that its root filesystem's /etc/passwd lacks, if any. */
function userMissing(spec: ContainerSpec): string | undefined {
  const user = spec.user?.split(":")[0];
  if (user === undefined || user === "" || /^\d+$/.test(user) || !("path" in spec.rootfs))
    return undefined;
  let passwd: string;
  try {
    passwd = readFileSync(join(spec.rootfs.path, "etc/passwd"), "utf8");
  } catch {
    return user;
  }
  return passwd.split("\n").some((line) => line.split(":")[0] === user) ? undefined : user;
}
