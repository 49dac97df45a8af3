/**
 * ContainerRuntime over an OCI runtime command line (runc; runsc in part 2) with conmon as
 * the monitor of every container. See types.ts for the contract and records.ts for what is
 * kept on disk. Nothing here is held only in memory: a new instance over the same data dir
 * sees and drives what an earlier one (in a killed agent) started.
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readFile, readdir, stat, statfs, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { BerthError, silentLogger, type Logger } from "../../core/index.js";
import { TaskCgroups, type CgroupVersion } from "./cgroups.js";
import { startConmon } from "./conmon.js";
import { RuntimeErrorCode, invalidSpec } from "./errors.js";
import { ExitWatcher } from "./exit-watcher.js";
import { readLogFile } from "./logs.js";
import { NetnsStore } from "./netns.js";
import { buildOciSpec } from "./oci-spec.js";
import { processMatches, type OciRuntimeCli } from "./oci-cli.js";
import { RecordStore, toExit, type ContainerRecord, type SandboxRecord } from "./records.js";
import { seedVolume, TaskStorage } from "./task-storage.js";
import { resolveUser } from "./user.js";
import type {
  ContainerExit,
  ContainerInfo,
  ContainerRuntime,
  ContainerSpec,
  ExecOptions,
  HostFootprint,
  LogLine,
  ReadLogsOptions,
  RootfsProvider,
  SandboxUsage,
  TaskSandbox,
  TaskSandboxSpec,
} from "./types.js";

export interface OciRuntimeOptions {
  /** The agent's data dir; the runtime keeps sandboxes/, containers/, exits/ and storage/ in it. */
  dataDir: string;
  /** Volatile state (OCI runtime root, netns files, conmon sockets). Default `<dataDir>/run`. */
  runDir?: string;
  /** Parent cgroup of all task cgroups. Default `berth`. */
  cgroupParent?: string;
  /** Lends rootfs overlays for `{ imageDigest }` containers; usually the image store. */
  rootfsProvider?: RootfsProvider;
  cgroupVersion?: CgroupVersion;
  /** The static init run as PID 1 when initProcessEnabled. */
  initBinary?: string;
  conmonBinary?: string;
  logger?: Logger;
}

const ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const DEFAULT_PIDS_LIMIT = 4096;

function checkId(kind: string, id: string, max: number): void {
  if (!ID.test(id) || id.length > max)
    throw invalidSpec(`invalid ${kind} id ${JSON.stringify(id)}`);
}

function notFound(id: string): BerthError {
  return new BerthError(RuntimeErrorCode.ContainerNotFound, `container ${id} does not exist`);
}

export class OciContainerRuntime implements ContainerRuntime {
  readonly records: RecordStore;
  readonly runDir: string;
  private readonly cgroups: TaskCgroups;
  private readonly netns: NetnsStore;
  private readonly storage: TaskStorage;
  private readonly exits: ExitWatcher;
  private readonly log: Logger;
  private ready: Promise<void> | undefined;

  constructor(
    readonly kind: string,
    private readonly cli: (runDir: string) => OciRuntimeCli,
    private readonly options: OciRuntimeOptions,
  ) {
    const dataDir = resolve(options.dataDir);
    this.runDir = resolve(options.runDir ?? join(dataDir, "run"));
    this.records = new RecordStore(dataDir);
    this.cgroups = new TaskCgroups(options.cgroupParent ?? "berth", options.cgroupVersion);
    this.netns = new NetnsStore(join(this.runDir, "netns"));
    this.exits = new ExitWatcher(this.records.exitsDir, (id) => this.hasExited(id));
    this.log = options.logger ?? silentLogger;
    this.storage = new TaskStorage(join(dataDir, "storage"), this.log);
  }

  private get oci(): OciRuntimeCli {
    return this.cli(this.runDir);
  }

  private init(): Promise<void> {
    this.ready ??= (async () => {
      await this.records.init();
      for (const dir of ["sock", "netns", this.kind]) {
        await mkdir(join(this.runDir, dir), { recursive: true });
      }
    })();
    return this.ready;
  }

  async prepareSandbox(spec: TaskSandboxSpec): Promise<TaskSandbox> {
    checkId("task", spec.taskId, 64);
    await this.init();
    const existing = await this.records.getSandbox(spec.taskId);
    if (existing) return toSandbox(existing);
    const record: SandboxRecord = {
      taskId: spec.taskId,
      cpu: spec.cpu,
      memoryMiB: spec.memoryMiB,
      pidsLimit: spec.pidsLimit ?? DEFAULT_PIDS_LIMIT,
      netnsPath: this.netns.path(spec.taskId),
      cgroupPath: this.cgroups.taskPath(spec.taskId),
      storagePath: this.storage.path(spec.taskId),
      ephemeralStorageGiB: spec.ephemeralStorageGiB,
      volumes: spec.volumes ?? [],
      createdAt: new Date().toISOString(),
    };
    try {
      await Promise.all([
        this.cgroups.create(spec.taskId, record),
        this.netns.create(spec.taskId),
        this.storage.create(spec.taskId, spec.ephemeralStorageGiB, spec.volumes ?? []),
      ]);
      await this.records.putSandbox(record);
    } catch (error) {
      await this.destroySandbox(spec.taskId).catch(() => undefined);
      throw error;
    }
    return toSandbox(record);
  }

  async destroySandbox(taskId: string): Promise<void> {
    await this.init();
    for (const container of await this.records.listContainers()) {
      if (container.taskId === taskId) await this.deleteContainer(container.id);
    }
    await this.netns.remove(taskId);
    await this.cgroups.remove(this.cgroups.taskPath(taskId));
    await this.storage.remove(taskId);
    await this.records.removeSandbox(taskId);
  }

  async createContainer(spec: ContainerSpec): Promise<ContainerInfo> {
    checkId("container", spec.id, 128);
    await this.init();
    const sandbox = await this.records.getSandbox(spec.taskId);
    if (!sandbox) {
      throw new BerthError(RuntimeErrorCode.SandboxNotFound, `no sandbox for task ${spec.taskId}`);
    }
    const dir = this.records.containerDir(spec.id);
    try {
      await mkdir(dir);
    } catch {
      throw new BerthError(RuntimeErrorCode.ContainerExists, `container ${spec.id} exists`);
    }
    const record: ContainerRecord = {
      id: spec.id,
      taskId: spec.taskId,
      name: spec.name,
      labels: spec.labels ?? {},
      rootfs: spec.rootfs,
      cgroupPath: this.cgroups.containerPath(spec.taskId, spec.id),
      createdAt: new Date().toISOString(),
    };
    try {
      // Written first, so that a crash from here on leaves something delete can clean.
      await this.records.putContainer(record);
      const writableDir =
        sandbox.storagePath === undefined
          ? undefined
          : join(sandbox.storagePath, "containers", spec.id);
      const rootfsPath =
        "path" in spec.rootfs
          ? spec.rootfs.path
          : (
              await this.rootfsProvider().prepareRootfs(
                spec.rootfs.imageDigest,
                spec.id,
                writableDir,
              )
            ).path;
      for (const mount of spec.mounts ?? [])
        if (mount.seedFromImage) await seedVolume(rootfsPath, mount.destination, mount.source);
      const etcFiles = await writeEtcFiles(dir, spec.hostname ?? spec.id.slice(0, 12));
      const config = buildOciSpec(spec, {
        rootfsPath,
        netnsPath: sandbox.netnsPath,
        cgroupsPath: record.cgroupPath,
        cgroupVersion: this.cgroups.version,
        user: await resolveUser(rootfsPath, spec.user),
        etcFiles,
        initBinary: this.options.initBinary ?? "/usr/bin/catatonit",
      });
      await writeFile(join(dir, "config.json"), JSON.stringify(config));
      await mkdir(join(dir, "persist"));
      const pid = await startConmon({
        id: spec.id,
        name: spec.name,
        bundle: dir,
        runtimeBinary: this.oci.binary,
        runtimeArgs: this.oci.globalArgs,
        logPath: join(dir, "ctr.log"),
        exitDir: this.records.exitsDir,
        persistDir: join(dir, "persist"),
        socketDir: join(this.runDir, "sock"),
        conmonPidFile: join(dir, "conmon.pid"),
        containerPidFile: join(dir, "pidfile"),
        conmonBinary: this.options.conmonBinary,
      });
      this.log.debug("container created", { id: spec.id, pid });
      return { ...this.toInfo(record, "created"), pid };
    } catch (error) {
      await this.deleteContainer(spec.id).catch(() => undefined);
      throw error;
    }
  }

  async startContainer(id: string): Promise<ContainerInfo> {
    const record = await this.mustGet(id);
    await this.oci.start(id);
    record.startedAt = new Date().toISOString();
    await this.records.putContainer(record);
    const state = await this.oci.state(id);
    return { ...this.toInfo(record, "running"), pid: state.pid };
  }

  async signalContainer(id: string, signal: NodeJS.Signals): Promise<void> {
    await this.mustGet(id);
    if (await this.hasExited(id)) return;
    await this.oci.kill(id, signal);
  }

  async stopContainer(id: string, timeoutMs: number): Promise<ContainerExit> {
    await this.signalContainer(id, "SIGTERM");
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), timeoutMs);
    try {
      return await this.waitContainer(id, abort.signal);
    } catch (error) {
      if (!abort.signal.aborted) throw error;
    } finally {
      clearTimeout(timer);
    }
    await this.signalContainer(id, "SIGKILL");
    return this.waitContainer(id);
  }

  async waitContainer(id: string, signal?: AbortSignal): Promise<ContainerExit> {
    await this.mustGet(id);
    await this.exits.wait(id, signal);
    const exit = await this.finalizeExit(id);
    if (!exit) throw notFound(id);
    return exit;
  }

  async execInContainer(id: string, args: string[], timeoutMs: number): Promise<number> {
    await this.mustGet(id);
    return this.oci.exec(id, args, timeoutMs);
  }

  async spawnExec(
    id: string,
    args: string[],
    options: ExecOptions,
  ): Promise<ChildProcessWithoutNullStreams> {
    await this.mustGet(id);
    if ((await this.oci.state(id)).status !== "running")
      throw new BerthError(RuntimeErrorCode.ContainerNotRunning, `container ${id} is not running`);
    const argv = this.oci.execArgv(id, args, options.tty);
    if (!options.tty) return spawn(argv[0] as string, argv.slice(1));
    // The OCI runtime makes the container's terminal only when its own stdin is one, so it
    // runs under script(1)'s terminal, set raw (the runtime copies bytes, the container's
    // terminal does the line discipline) and to the caller's size, which the runtime passes on.
    const size = ["cols", String(options.cols ?? 80), "rows", String(options.rows ?? 24)];
    const line = `stty raw -echo ${size.join(" ")} && exec ${argv.map(shellQuote).join(" ")}`;
    return spawn("script", ["--quiet", "--flush", "--return", "--command", line, "/dev/null"]);
  }

  async inspectContainer(id: string): Promise<ContainerInfo | undefined> {
    await this.init();
    const record = await this.records.getContainer(id);
    if (!record) return undefined;
    const exit = await this.finalizeExit(id);
    if (exit) return { ...this.toInfo(record, "stopped"), exit };
    const state = await this.oci.state(id);
    const status = state.status === "absent" ? "stopped" : state.status;
    return { ...this.toInfo(record, status), pid: state.pid };
  }

  readLogs(id: string, options: ReadLogsOptions = {}): AsyncIterable<LogLine> {
    return readLogFile(join(this.records.containerDir(id), "ctr.log"), {
      follow: options.follow ?? false,
      signal: options.signal,
      finished: async () => {
        const status = (await this.inspectContainer(id))?.status;
        return status === undefined || status === "stopped";
      },
    });
  }

  async deleteContainer(id: string): Promise<void> {
    await this.init();
    const record = await this.records.getContainer(id);
    const state = await this.oci.state(id);
    if (state.status === "running" || state.status === "created") {
      // A created container cannot be signalled by every runtime; delete --force kills it.
      if (state.status === "running") await this.oci.kill(id, "SIGKILL");
      else await this.oci.delete(id);
      if (record && existsSync(join(this.records.containerDir(id), "conmon.pid"))) {
        await this.exits.wait(id, AbortSignal.timeout(10_000)).catch(() => undefined);
      }
    }
    if (record) await this.finalizeExit(id);
    await this.waitForMonitor(id);
    await this.oci.delete(id);
    if (record && "imageDigest" in record.rootfs) {
      await this.rootfsProvider().releaseRootfs(id);
    }
    if (record) await this.cgroups.remove(record.cgroupPath);
    await this.records.removeContainer(id);
  }

  async list(): Promise<{ sandboxes: TaskSandbox[]; containers: ContainerInfo[] }> {
    await this.init();
    const sandboxes = (await this.records.listSandboxes()).map(toSandbox);
    const containers: ContainerInfo[] = [];
    for (const record of await this.records.listContainers()) {
      const info = await this.inspectContainer(record.id);
      if (info) containers.push(info);
    }
    return { sandboxes, containers };
  }

  async sandboxUsage(taskId: string): Promise<SandboxUsage> {
    const usage: SandboxUsage = await this.cgroups.usage(taskId);
    const storagePath = (await this.records.getSandbox(taskId))?.storagePath;
    const fs =
      storagePath === undefined ? undefined : await statfs(storagePath).catch(() => undefined);
    if (fs !== undefined)
      usage.storage = {
        usedBytes: (fs.blocks - fs.bfree) * fs.bsize,
        sizeBytes: fs.blocks * fs.bsize,
      };
    return usage;
  }

  async containerUsage(id: string): Promise<SandboxUsage> {
    return this.cgroups.usageAt((await this.mustGet(id)).cgroupPath);
  }

  async footprint(): Promise<HostFootprint> {
    await this.init();
    const mountsText = await readFile("/proc/self/mounts", "utf8");
    const roots = [resolve(this.options.dataDir), this.runDir];
    const mounts = mountsText
      .split("\n")
      .map((line) => line.split(" ")[1] ?? "")
      .filter((point) => roots.some((root) => point.startsWith(root + "/"))).length;
    return {
      mounts,
      loopDevices: await this.storage.loopDevices(),
      cgroups: await this.cgroups.count(),
      runtimeStates: (await this.oci.list()).length,
      netns: (await readdir(join(this.runDir, "netns")).catch(() => [])).length,
      monitors: await countMonitors(this.runDir),
    };
  }

  async close(): Promise<void> {
    this.exits.close();
    await this.storage.close();
  }

  private rootfsProvider(): RootfsProvider {
    if (!this.options.rootfsProvider) {
      throw invalidSpec("this runtime has no image store: give rootfs as { path }");
    }
    return this.options.rootfsProvider;
  }

  private async mustGet(id: string): Promise<ContainerRecord> {
    await this.init();
    const record = await this.records.getContainer(id);
    if (!record) throw notFound(id);
    return record;
  }

  private async hasExited(id: string): Promise<boolean> {
    if ((await this.records.readExitCode(id)) !== undefined) return true;
    const record = await this.records.getContainer(id);
    if (!record) return true;
    if (record.exit) return true;
    // A monitor that died without an exit file (killed by hand) never writes one: then the
    // container has exited once its process is gone (the code is lost).
    const monitor = await readPid(join(this.records.containerDir(id), "conmon.pid"));
    if (monitor === undefined || (await processMatches(monitor))) return false;
    const { status } = await this.oci.state(id);
    return status !== "running" && status !== "created";
  }

  /**
   * Turns an exit file into the record's `exit`, once: reads the code and whether the OOM
   * killer struck, while the container's cgroup still exists (runc delete removes it).
   */
  private async finalizeExit(id: string): Promise<ContainerExit | undefined> {
    const record = await this.records.getContainer(id);
    if (!record) return undefined;
    if (record.exit) return toExit(record.exit);
    let exitCode = await this.records.readExitCode(id);
    if (exitCode === undefined) {
      if (!(await this.hasExited(id))) return undefined;
      exitCode = 255; // the monitor is gone without a word: the code is lost
    }
    const kills = await this.cgroups.oomKills(record.cgroupPath);
    const dir = this.records.containerDir(id);
    const oomKilled = kills !== undefined ? kills > 0 : existsSync(join(dir, "persist", "oom"));
    const finishedAt =
      (await stat(this.records.exitFile(id)).catch(() => undefined))?.mtime ?? new Date();
    record.exit = { exitCode, oomKilled, finishedAt: finishedAt.toISOString() };
    await this.records.putContainer(record);
    return toExit(record.exit);
  }

  /** Waits (briefly) until the container's conmon has exited after writing the exit file. */
  private async waitForMonitor(id: string): Promise<void> {
    const pid = await readPid(join(this.records.containerDir(id), "conmon.pid"));
    if (pid === undefined) return;
    for (let i = 0; i < 100 && (await processMatches(pid)); i++) await sleep(10);
  }

  private toInfo(record: ContainerRecord, status: ContainerInfo["status"]): ContainerInfo {
    return {
      id: record.id,
      taskId: record.taskId,
      name: record.name,
      status,
      labels: record.labels,
      createdAt: new Date(record.createdAt),
      startedAt: record.startedAt ? new Date(record.startedAt) : undefined,
      exit: record.exit ? toExit(record.exit) : undefined,
    };
  }
}

function toSandbox(record: SandboxRecord): TaskSandbox {
  const { storagePath, volumes = [], ...rest } = record;
  return {
    ...rest,
    volumes: Object.fromEntries(
      storagePath === undefined
        ? []
        : volumes.map((name) => [name, join(storagePath, "volumes", name)]),
    ),
    createdAt: new Date(record.createdAt),
  };
}

async function readPid(file: string): Promise<number | undefined> {
  try {
    const pid = Number((await readFile(file, "utf8")).trim());
    return pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

async function writeEtcFiles(
  dir: string,
  hostname: string,
): Promise<{ hostname: string; hosts: string; resolvConf: string }> {
  const files = {
    hostname: join(dir, "hostname"),
    hosts: join(dir, "hosts"),
    resolvConf: join(dir, "resolv.conf"),
  };
  await writeFile(files.hostname, `${hostname}\n`);
  await writeFile(
    files.hosts,
    `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.0.1\t${hostname}\n`,
  );
  // Loopback only in this part: no resolver is reachable yet; the task network brings one.
  await writeFile(files.resolvConf, "");
  return files;
}

/** `arg` as one word for sh. */
function shellQuote(arg: string): string {
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

/** conmon processes whose runtime root is under `runDir` (zombies excluded). */
async function countMonitors(runDir: string): Promise<number> {
  let count = 0;
  for (const name of await readdir("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const cmdline = await readFile(`/proc/${name}/cmdline`, "utf8").catch(() => "");
    if (!cmdline.startsWith("conmon\0") && !cmdline.includes("/conmon\0")) continue;
    if (cmdline.includes(`--root=${runDir}/`)) count++;
  }
  return count;
}
