/**
 * ContainerRuntime over OCI runtime command lines (runc, and runsc for the sandboxes that choose
 * it) with conmon as the monitor of every container. See types.ts for the contract and records.ts for what is
 * kept on disk. Nothing here is held only in memory: a new instance over the same data dir
 * sees and drives what an earlier one (in a killed agent) started.
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { constants as fsConstants, existsSync, readFileSync } from "node:fs";
import { chmod, copyFile, mkdir, open, readFile, readdir, stat, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { BerthError, PRIVATE_FILE, silentLogger, type Logger } from "../../core/index.js";
import { DEFAULT_CGROUP_PARENT, TaskCgroups } from "./cgroups.js";
import { startConmon } from "./conmon.js";
import { RuntimeErrorCode, invalidSpec, runtimeFailed } from "./errors.js";
import { resizeTerminal, spawnOnTerminal } from "./exec-terminal.js";
import { ExitWatcher } from "./exit-watcher.js";
import { readLogFile } from "./logs.js";
import { NetnsStore } from "./netns.js";
import { buildOciSpec, INIT_PATH } from "./oci-spec.js";
import { processMatches, type OciRuntimeCli } from "./oci-cli.js";
import { readTaskResolvConf } from "./resolv-conf.js";
import { RecordStore, toExit, type ContainerRecord, type SandboxRecord } from "./records.js";
import { seedVolume, TaskFilesystems } from "./task-storage.js";
import { resolveUser } from "./user.js";
import { readHostTables, taskTableLimits, type HostTables } from "./host-tables.js";
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
  TaskStorage,
  TaskStorageSpec,
} from "./types.js";

/** catatonit: PID 1 for initProcessEnabled, and (with -P) the pause of a gVisor pod. */
const INIT_BINARY = "/usr/bin/catatonit";

export interface OciRuntimeOptions {
  /** The agent's data dir; the runtime keeps sandboxes/, containers/, exits/ and storage/ in it. */
  dataDir: string;
  /** Parent cgroup of all task cgroups. Default `berth`. */
  cgroupParent?: string;
  /** Lends rootfs overlays for `{ imageDigest }` containers; usually the image store. */
  rootfsProvider?: RootfsProvider;
  logger?: Logger;
  /** How far task storage may overcommit the disk (storage-budget.ts); 1 by default. */
  storageOvercommit?: number;
}

/**
 * How long a monitor may take to write the exit file of a container whose process is gone (or
 * SIGKILLed): milliseconds on an idle host, more under load; past it, a hung conmon.
 */
const EXIT_FILE_WAIT_MS = 10_000;

const ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

function checkId(kind: string, id: string, max: number): void {
  if (!ID.test(id) || id.length > max)
    throw invalidSpec(`invalid ${kind} id ${JSON.stringify(id)}`);
}

// The annotations with which containerd and CRI-O put containers into one gVisor sandbox.
const CRI_CONTAINER_TYPE = "io.kubernetes.cri.container-type";
const CRI_SANDBOX_ID = "io.kubernetes.cri.sandbox-id";

/** A pod's pause container: `.` never occurs in the ids of a task's containers. */
function pauseIdOf(taskId: string): string {
  return `${taskId}.pause`;
}

function notFound(id: string): BerthError {
  return new BerthError(RuntimeErrorCode.ContainerNotFound, `container ${id} does not exist`);
}

export class OciContainerRuntime implements ContainerRuntime {
  readonly records: RecordStore;
  readonly runDir: string;
  private readonly cgroups: TaskCgroups;
  private readonly netns: NetnsStore;
  private readonly storage: TaskFilesystems;
  private readonly exits: ExitWatcher;
  private readonly log: Logger;
  private readonly hostTables: HostTables;
  private ready: Promise<void> | undefined;

  /** Pods whose pause container is started (or starting): task id -> pause container id. */
  private readonly pods = new Map<string, Promise<string>>();
  /** Each container's OCI runtime kind, once read from its record. */
  private readonly kinds = new Map<string, string>();

  /**
   * `kind` is the default OCI runtime; `clis` holds every runtime a sandbox may choose
   * (`TaskSandboxSpec.runtime`), the default among them.
   */
  constructor(
    readonly kind: string,
    private readonly clis: Record<string, (runDir: string) => OciRuntimeCli>,
    private readonly options: OciRuntimeOptions,
  ) {
    if (clis[kind] === undefined) throw invalidSpec(`no OCI runtime ${kind}`);
    const dataDir = resolve(options.dataDir);
    // Volatile state: the OCI runtime root, netns files, conmon sockets.
    this.runDir = join(dataDir, "run");
    this.records = new RecordStore(dataDir);
    this.cgroups = new TaskCgroups(options.cgroupParent ?? DEFAULT_CGROUP_PARENT);
    this.netns = new NetnsStore(join(this.runDir, "netns"));
    this.exits = new ExitWatcher(this.records.exitsDir, (id) => this.hasExited(id));
    this.log = options.logger ?? silentLogger;
    this.hostTables = readHostTables();
    this.storage = new TaskFilesystems(
      join(dataDir, "storage"),
      this.log,
      options.storageOvercommit ?? 1,
    );
  }

  private cli(kind: string | undefined): OciRuntimeCli {
    const factory = this.clis[kind ?? this.kind];
    if (factory === undefined) throw invalidSpec(`this host has no OCI runtime ${kind ?? ""}`);
    return factory(this.runDir);
  }

  /** The OCI runtime that runs container `id` (the one its sandbox chose). */
  private async oci(id: string): Promise<OciRuntimeCli> {
    let kind = this.kinds.get(id);
    if (kind === undefined) {
      kind = (await this.records.getContainer(id))?.runtime ?? this.kind;
      this.kinds.set(id, kind);
    }
    return this.cli(kind);
  }

  private init(): Promise<void> {
    this.ready ??= (async () => {
      await this.records.init();
      for (const dir of ["sock", "netns", ...Object.keys(this.clis)]) {
        await mkdir(join(this.runDir, dir), { recursive: true });
      }
    })();
    return this.ready;
  }

  async prepareSandbox(spec: TaskSandboxSpec): Promise<TaskSandbox> {
    checkId("task", spec.taskId, 64);
    await this.init();
    const existing = await this.records.getSandbox(spec.taskId);
    if (existing) return this.toSandbox(existing);
    this.cli(spec.runtime); // refuses a runtime this host does not have
    const tables = taskTableLimits(this.hostTables, spec);
    const record: SandboxRecord = {
      taskId: spec.taskId,
      ...(spec.runtime === undefined ? {} : { runtime: spec.runtime }),
      cpu: spec.cpu,
      memoryMiB: spec.memoryMiB,
      pidsLimit: spec.pidsLimit ?? tables.pidsLimit,
      nofileLimit: tables.nofile,
      netnsPath: spec.netnsPath ?? this.netns.path(spec.taskId),
      cgroupPath: this.cgroups.taskPath(spec.taskId),
      ...(spec.pidMode === undefined ? {} : { pidMode: spec.pidMode }),
      createdAt: new Date().toISOString(),
    };
    try {
      // The record first when the namespace was made ahead: from then on it is the task's to remove.
      if (spec.netnsPath !== undefined) await this.records.putSandbox(record);
      await Promise.all([
        this.cgroups.create(spec.taskId, record),
        spec.netnsPath === undefined ? this.netns.create(spec.taskId) : undefined,
      ]);
      if (spec.netnsPath === undefined) await this.records.putSandbox(record);
    } catch (error) {
      await this.destroySandbox(spec.taskId).catch(() => undefined);
      throw error;
    }
    return this.toSandbox(record);
  }

  async prepareNamespace(id: string, options: { background?: boolean } = {}): Promise<string> {
    checkId("namespace", id, 64);
    await this.init();
    return this.netns.create(id, options.background === true);
  }

  async removeNamespace(path: string): Promise<void> {
    if (resolve(path, "..") !== this.netns.dir)
      throw invalidSpec(`${path} is no namespace of this runtime`);
    await this.netns.removePath(path);
  }

  async namespaces(): Promise<string[]> {
    return this.netns.list();
  }

  async offeredStorageGiB(): Promise<number> {
    return this.storage.offeredGiB();
  }

  async prepareStorage(spec: TaskStorageSpec): Promise<TaskStorage> {
    checkId("task", spec.taskId, 64);
    await this.init();
    const volumes = spec.volumes ?? [];
    const path = await this.storage.create(spec.taskId, spec.ephemeralStorageGiB, volumes);
    return {
      path,
      volumes: Object.fromEntries(volumes.map((name) => [name, join(path, "volumes", name)])),
    };
  }

  async destroySandbox(taskId: string): Promise<void> {
    await this.init();
    // A pod's pause container goes last: the others live in its sandbox.
    const pause = pauseIdOf(taskId);
    const containers = (await this.records.listContainers())
      .filter((container) => container.taskId === taskId)
      .sort((a, b) => Number(a.id === pause) - Number(b.id === pause));
    for (const container of containers) await this.deleteContainer(container.id);
    this.pods.delete(taskId);
    const netnsPath = (await this.records.getSandbox(taskId))?.netnsPath;
    // A prepared sandbox's namespace has its own name (it is one of ours: checked); a sandbox
    // made at launch has the task's (so has one whose record is gone).
    await this.netns.removePath(
      netnsPath !== undefined && resolve(netnsPath, "..") === this.netns.dir
        ? netnsPath
        : this.netns.path(taskId),
    );
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
      ...(sandbox.runtime === undefined ? {} : { runtime: sandbox.runtime }),
      createdAt: new Date().toISOString(),
    };
    const oci = this.cli(sandbox.runtime);
    // The bundle's own files, written while the root filesystem is mounted.
    let bundleWrites: Promise<unknown> = Promise.resolve();
    try {
      // Written first, so that a crash from here on leaves something delete can clean.
      await this.records.putContainer(record);
      const bundleFiles = Promise.all([
        writeEtcFiles(dir, spec.hostname ?? spec.id.slice(0, 12)),
        mkdir(join(dir, "persist")),
      ]);
      bundleWrites = bundleFiles.catch(() => undefined); // awaited below, unless a step failed
      const isPause = spec.id === pauseIdOf(spec.taskId);
      const pod =
        oci.podSandbox !== true
          ? undefined
          : isPause
            ? { [CRI_CONTAINER_TYPE]: "sandbox" }
            : await this.podSandbox(spec.taskId);
      // pidMode task: every container joins the pause process's PID namespace by path, as
      // each joins the task's network namespace. gVisor does not open the path: the
      // subcontainers that name the same path share one PID namespace of its own kernel.
      const pidnsPath =
        sandbox.pidMode === "task" && !isPause ? await this.sharedPidns(spec.taskId) : undefined;
      // On the task's storage when it has some (tasks of older agents and tests may not).
      const storage = this.storage.path(spec.taskId);
      const writableDir = existsSync(storage) ? join(storage, "containers", spec.id) : undefined;
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
      const [etcFiles] = await bundleFiles;
      const config = buildOciSpec(spec, {
        rootfsPath,
        netnsPath: sandbox.netnsPath,
        ...(pidnsPath === undefined ? {} : { pidnsPath }),
        cgroupsPath: record.cgroupPath,
        cgroupVersion: this.cgroups.version,
        user: await resolveUser(rootfsPath, spec.user),
        etcFiles,
        initBinary: INIT_BINARY,
        ...(sandbox.nofileLimit === undefined ? {} : { nofileLimit: sandbox.nofileLimit }),
      });
      if (pod !== undefined)
        config.annotations = { ...(config.annotations as Record<string, string>), ...pod };
      // The bundle holds the task's environment: root's alone.
      await writeFile(join(dir, "config.json"), JSON.stringify(config), { mode: PRIVATE_FILE });
      const pid = await startConmon({
        id: spec.id,
        name: spec.name,
        bundle: dir,
        runtimeBinary: oci.binary,
        runtimeArgs: oci.globalArgs,
        logPath: join(dir, "ctr.log"),
        exitDir: this.records.exitsDir,
        persistDir: join(dir, "persist"),
        socketDir: join(this.runDir, "sock"),
        conmonPidFile: join(dir, "conmon.pid"),
        containerPidFile: join(dir, "pidfile"),
      });
      // runc has read the bundle: the secrets' values leave the file (a later `runc exec`, a
      // health check or ECS Exec, runs with the plain environment; Docker's would have them).
      const secretNames = Object.keys(spec.secretEnv ?? {});
      if (secretNames.length > 0) {
        const process = config.process as { env?: string[] };
        process.env = (process.env ?? []).filter(
          (pair) => !secretNames.some((name) => pair.startsWith(`${name}=`)),
        );
        await writeFile(join(dir, "config.json"), JSON.stringify(config), { mode: PRIVATE_FILE });
      }
      this.log.debug("container created", { id: spec.id, pid });
      return { ...this.toInfo(record, "created"), pid };
    } catch (error) {
      // Not while the bundle's files are still being written into the directory it removes.
      await bundleWrites;
      await this.deleteContainer(spec.id).catch(() => undefined);
      throw error;
    }
  }

  /**
   * For runtimes that run a task's containers in one sandbox (gVisor: one user-space kernel
   * and one network stack, so that they share localhost as under runc): the sandbox's root is
   * a pause process made with the task's first container; every container joins it through
   * the annotations CRI runtimes use. Returns those annotations.
   */
  private podSandbox(taskId: string): Promise<Record<string, string>> {
    return this.pause(taskId).then((pauseId) => ({
      [CRI_CONTAINER_TYPE]: "container",
      [CRI_SANDBOX_ID]: pauseId,
    }));
  }

  /**
   * The PID namespace a pidMode task's containers share: the pause process's, made with the
   * task's first container. It is the namespace's init, so a container's exit (even the
   * first's) never takes the others down with the namespace, and it reaps their orphans.
   */
  private async sharedPidns(taskId: string): Promise<string> {
    const pauseId = await this.pause(taskId);
    const info = await this.inspectContainer(pauseId);
    if (info?.status !== "running" || info.pid === undefined)
      throw runtimeFailed(
        `the task's pause process (which holds its PID namespace) is not running`,
      );
    return `/proc/${info.pid}/ns/pid`;
  }

  /** The task's pause container, started once (and found again after an agent restart). */
  private pause(taskId: string): Promise<string> {
    let ready = this.pods.get(taskId);
    if (ready === undefined) {
      ready = this.startPause(taskId);
      this.pods.set(taskId, ready);
      ready.catch(() => this.pods.delete(taskId));
    }
    return ready;
  }

  private async startPause(taskId: string): Promise<string> {
    const id = pauseIdOf(taskId);
    const info = await this.inspectContainer(id);
    if (info?.status === "running") return id;
    if (info !== undefined) await this.deleteContainer(id);
    const rootfs = join(this.runDir, "pause-rootfs");
    if (!existsSync(join(rootfs, "pause"))) {
      await mkdir(rootfs, { recursive: true });
      await copyFile(INIT_BINARY, join(rootfs, "pause"));
    }
    await this.createContainer({
      id,
      taskId,
      name: "pause",
      rootfs: { path: rootfs },
      args: ["/pause", "-P"],
    });
    await this.startContainer(id);
    return id;
  }

  private toSandbox(record: SandboxRecord): TaskSandbox {
    return {
      ...record,
      networkBeforeCreate: this.cli(record.runtime).podSandbox === true,
      createdAt: new Date(record.createdAt),
    };
  }

  /** Where a pod subcontainer's monitor waits for its start (libexec/berth-runsc). */
  private startFifo(id: string): string {
    return join(this.records.containerDir(id), "start.fifo");
  }

  private async signalStart(id: string): Promise<void> {
    // Non-blocking: with no monitor reading, this fails (ENXIO) rather than hangs.
    const fifo = await open(this.startFifo(id), fsConstants.O_WRONLY | fsConstants.O_NONBLOCK);
    try {
      await fifo.write("start\n");
    } finally {
      await fifo.close();
    }
  }

  async startContainer(id: string): Promise<ContainerInfo> {
    const record = await this.mustGet(id);
    const oci = await this.oci(id);
    if (existsSync(this.startFifo(id))) {
      await this.signalStart(id);
      // Started once the runtime says so (or the container already ended), as `start` is.
      for (let i = 0; i < 500 && (await oci.state(id)).status === "created"; i++) {
        if (await this.hasExited(id)) {
          // Ended before it ran: the runtime's own words are the reason. berth-runsc marks the
          // failure in start.err; runsc said why on the container's stderr (it hands its stdio
          // to the container), which conmon logged.
          const dir = this.records.containerDir(id);
          const marked = await readFile(join(dir, "start.err"), "utf8")
            .then((text) => text.trim())
            .catch(() => "");
          const said =
            marked === ""
              ? ""
              : await readFile(join(dir, "ctr.log"), "utf8")
                  .then((log) => runtimeWords(log) || marked)
                  .catch(() => marked);
          if (said !== "")
            throw runtimeFailed(`${record.runtime ?? this.kind} start ${id} failed: ${said}`);
          break;
        }
        await sleep(10);
      }
    } else await oci.start(id);
    record.startedAt = new Date().toISOString();
    const [, state] = await Promise.all([this.records.putContainer(record), oci.state(id)]);
    if (oci.podSandbox !== true) await untilExecd(state.pid);
    return { ...this.toInfo(record, "running"), pid: state.pid };
  }

  async signalContainer(id: string, signal: NodeJS.Signals): Promise<void> {
    await this.mustGet(id);
    if (await this.hasExited(id)) return;
    await (await this.oci(id)).kill(id, signal);
  }

  async stopContainer(id: string, timeoutMs: number): Promise<ContainerExit> {
    await this.untilInitCatchesSigterm(id);
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
    await this.killContainer(id);
    return this.waitContainer(id);
  }

  /**
   * With initProcessEnabled, a stop right after start could reach PID 1 before catatonit had
   * blocked signals (it does so first): the kernel drops a signal with no handler sent to a
   * namespace's init, so the SIGTERM was lost and the task waited out stopTimeout for SIGKILL
   * (137, not 143). Waits, briefly and bounded, until PID 1 holds SIGTERM blocked or caught.
   * Not under gVisor: a gVisor container's PID 1 lives in its sandbox's kernel.
   */
  private async untilInitCatchesSigterm(id: string): Promise<void> {
    const oci = await this.oci(id);
    if (oci.podSandbox === true) return;
    const config = await readFile(join(this.records.containerDir(id), "config.json"), "utf8")
      .then((text) => JSON.parse(text) as { process?: { args?: string[] } })
      .catch(() => undefined);
    if (config?.process?.args?.[0] !== INIT_PATH) return;
    const { pid } = await oci.state(id);
    if (pid === undefined || pid <= 0) return;
    // Runc's init's handlers are Go's, and its exec of catatonit resets them (a container this
    // agent started is past it already; one an earlier agent started may not be).
    await untilExecd(pid);
    const SIGTERM_BIT = 1n << 14n;
    for (let waited = 0; waited < 2000; waited += 10) {
      const status = await readFile(`/proc/${pid}/status`, "utf8").catch(() => "");
      if (status === "") return;
      const mask = (name: string): bigint =>
        BigInt(`0x${new RegExp(`^${name}:\\s*([0-9a-f]+)$`, "m").exec(status)?.[1] ?? "0"}`);
      if (((mask("SigBlk") | mask("SigCgt")) & SIGTERM_BIT) !== 0n) return;
      await sleep(10);
    }
  }

  /**
   * SIGKILL, bounded whatever runs inside: under runc every process of the container's cgroup
   * is killed at once (see TaskCgroups.killAll); a gVisor container's processes live inside
   * its sandbox's kernel, where runsc's kill reaches them.
   */
  private async killContainer(id: string): Promise<void> {
    const record = await this.mustGet(id);
    if (await this.hasExited(id)) return;
    const oci = await this.oci(id);
    if (oci.podSandbox !== true)
      await this.cgroups.killAll(record.cgroupPath, [
        record.cgroupPath,
        this.cgroups.taskPath(record.taskId),
      ]);
    await oci.kill(id, "SIGKILL");
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
    return (await this.oci(id)).exec(id, args, timeoutMs);
  }

  async spawnExec(
    id: string,
    args: string[],
    options: ExecOptions,
  ): Promise<ChildProcessWithoutNullStreams> {
    await this.mustGet(id);
    const oci = await this.oci(id);
    if ((await oci.state(id)).status !== "running")
      throw new BerthError(RuntimeErrorCode.ContainerNotRunning, `container ${id} is not running`);
    // As docker exec -t: a terminal gets TERM=xterm unless the container's environment says.
    const env =
      options.tty && !(await this.containerEnv(id)).some((pair) => pair.startsWith("TERM="))
        ? ["TERM=xterm"]
        : [];
    const argv = oci.execArgv(id, args, options.tty, env);
    if (!options.tty) return spawn(argv[0] as string, argv.slice(1));
    return spawnOnTerminal(argv, options.cols ?? 80, options.rows ?? 24);
  }

  resizeExec(exec: ChildProcessWithoutNullStreams, cols: number, rows: number): Promise<void> {
    return resizeTerminal(exec, cols, rows);
  }

  /** The environment the container's process was started with (its OCI config). */
  private async containerEnv(id: string): Promise<string[]> {
    try {
      const config = JSON.parse(
        await readFile(join(this.records.containerDir(id), "config.json"), "utf8"),
      ) as { process?: { env?: string[] } };
      return config.process?.env ?? [];
    } catch {
      return [];
    }
  }

  async inspectContainer(id: string): Promise<ContainerInfo | undefined> {
    await this.init();
    const record = await this.records.getContainer(id);
    if (!record) return undefined;
    const exit = await this.finalizeExit(id);
    if (exit) return { ...this.toInfo(record, "stopped"), exit };
    const state = await this.cli(record.runtime).state(id);
    if (state.status === "running" || state.status === "created")
      return { ...this.toInfo(record, state.status), pid: state.pid };
    if (state.status === "absent") return this.toInfo(record, "stopped");
    // The process has ended and its monitor lives on without an exit file: conmon is reaping it
    // and writes the code next (a loaded host takes a while). "stopped" comes with its exit, as
    // a restarted agent's list must say how its containers ended (it read no exit, 1 run in 8).
    const settled = await this.exits
      .wait(id, AbortSignal.timeout(EXIT_FILE_WAIT_MS))
      .then(() => this.finalizeExit(id))
      .catch(() => undefined);
    return { ...this.toInfo(record, "stopped"), ...(settled ? { exit: settled } : {}) };
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
    const oci = this.cli(record?.runtime);
    const state = await oci.state(id);
    if (state.status === "running" || state.status === "created") {
      // A created container cannot be signalled by every runtime; delete --force kills it.
      if (state.status === "running") await oci.kill(id, "SIGKILL");
      else {
        await oci.delete(id);
        // A subcontainer's monitor waiting to start it: it finds the container gone and ends.
        await this.signalStart(id).catch(() => undefined);
      }
      if (record && existsSync(join(this.records.containerDir(id), "conmon.pid"))) {
        await this.exits.wait(id, AbortSignal.timeout(EXIT_FILE_WAIT_MS)).catch(() => undefined);
      }
    }
    if (record) await this.finalizeExit(id);
    await this.waitForMonitor(id);
    await oci.delete(id);
    if (record && "imageDigest" in record.rootfs) {
      await this.rootfsProvider().releaseRootfs(id);
    }
    if (record) await this.cgroups.remove(record.cgroupPath);
    await this.records.removeContainer(id);
    this.kinds.delete(id);
  }

  async list(): Promise<{ sandboxes: TaskSandbox[]; containers: ContainerInfo[] }> {
    await this.init();
    const sandboxes = (await this.records.listSandboxes()).map((record) => this.toSandbox(record));
    const containers: ContainerInfo[] = [];
    for (const record of await this.records.listContainers()) {
      const info = await this.inspectContainer(record.id);
      if (info) containers.push(info);
    }
    return { sandboxes, containers };
  }

  async sandboxUsage(taskId: string): Promise<SandboxUsage> {
    const usage: SandboxUsage = await this.cgroups.usage(taskId);
    const storage = await this.storage.usage(taskId).catch(() => undefined);
    if (storage !== undefined) usage.storage = storage;
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
      .filter((point) => roots.some((root) => point.startsWith(root + "/")))
      // The storage pool's entries are held ahead, for no task (as its loop devices are).
      .filter((point) => !this.storage.inPool(point)).length;
    return {
      mounts,
      loopDevices: await this.storage.loopDevices(),
      cgroups: await this.cgroups.count(),
      runtimeStates: (
        await Promise.all(Object.keys(this.clis).map((kind) => this.cli(kind).list()))
      ).flat().length,
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
    const { status } = await this.cli(record.runtime).state(id);
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
      // Read again: conmon writes the file, then exits, and may have done both since the first
      // read (an inspect racing the exit, as a task's metadata request, read 255 for a 0).
      exitCode = (await this.records.readExitCode(id)) ?? 255; // none: the monitor died without a word
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
  await writeFile(files.resolvConf, await readTaskResolvConf());
  // Bind-mounted into the container, where any of its users reads them (Berth's umask is 077).
  for (const file of Object.values(files)) await chmod(file, 0o644);
  return files;
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

/** The last stderr lines of a k8s-file container log ("TIME stderr F text"), as one line. */
function runtimeWords(log: string): string {
  return log
    .split("\n")
    .map((line) => /^\S+ stderr [FP] (.*)$/.exec(line)?.[1])
    .filter((text): text is string => text !== undefined && text.trim() !== "")
    .slice(-3)
    .join("; ");
}

/**
 * Waits, briefly and bounded, until the container's PID 1 is its own process. `runc start`
 * (and the start fifo) lets runc's init go, and returns before that init has exec'd the
 * process (seen 3 times in 30 starts). A SIGTERM sent in that window reached runc's init, a Go
 * program: as a namespace's PID 1 it could not die of the signal, so Go exited 2, and a task
 * stopped right after its start exited 2 whatever its process would have done (CI: 2 where a
 * trap said 42). Not under gVisor, whose containers' processes live in its sandbox's kernel.
 */
async function untilExecd(pid: number | undefined): Promise<void> {
  if (pid === undefined || pid <= 0) return;
  for (let waited = 0; waited < 2000; waited++) {
    // procfs, made by the kernel as it is read (tens of µs): on the event loop, not queued
    // behind a launch's file work on the thread pool.
    let status = "";
    try {
      status = readFileSync(`/proc/${pid}/status`, "utf8");
    } catch {
      // gone
    }
    // Gone (exited, or an exec that failed) or exec'd: runc's init names itself `runc:[2:INIT]`.
    if (!/^Name:\s*runc:/m.test(status)) return;
    await sleep(1);
  }
}
