/**
 * The contract between the agent's task logic and whatever runs containers on the host.
 *
 * A task is a *sandbox* (one cgroup that holds the task's CPU quota, memory hard limit and
 * pids limit, and one network namespace its containers share) holding *containers* (each with
 * its own PID, mount, IPC and UTS namespaces, its own cgroup under the task's, an OCI bundle
 * and a monitor process that owns its stdio and records its exit code).
 *
 * Everything a runtime knows is kept on disk under its data dir, so a new runtime instance in a
 * restarted agent sees the same sandboxes and containers (`list()`), and every operation works
 * on a container created by an earlier instance: there is no separate "adopt" step. Exits that
 * happen while no agent runs are recorded by the monitor and reported by `waitContainer`.
 *
 * All operations are idempotent where that makes sense (destroy and delete of what is gone
 * succeed) so that a reconciler can retry them after a crash.
 */
import type { ChildProcessWithoutNullStreams } from "node:child_process";

/** What to prepare for one task before its containers are created. */
export interface TaskSandboxSpec {
  /** Unique on this host; letters, digits, `_`, `.`, `-` (max 64). */
  taskId: string;
  /** The OCI runtime for the task's containers (`runc`, `runsc`); default: the runtime's kind. */
  runtime?: string;
  /** Task CPU units (1024 = one core), enforced as a CFS quota. Omitted: no quota. */
  cpu?: number;
  /** Task memory hard limit in MiB. Omitted: no limit. */
  memoryMiB?: number;
  /**
   * Most processes the task may have at once (fork-bomb guard). Default: the task's share of
   * the host's pid_max (host-tables.ts), at most 4096.
   */
  pidsLimit?: number;
  /**
   * `task`: the task's containers share one PID namespace, held by a pause process made with
   * the first container (ECS's pidMode task). Absent: each container has its own.
   */
  pidMode?: "task";
  /**
   * A network namespace made ahead by `prepareNamespace` (a prepared sandbox's, its address
   * already attached): the sandbox takes it over instead of making one, and removes it.
   */
  netnsPath?: string;
}

/** A task's storage: where its containers' writes and its scratch volumes live. */
export interface TaskStorageSpec {
  taskId: string;
  /** Size of the task's own filesystem, GiB. Omitted: a plain directory, unlimited. */
  ephemeralStorageGiB?: number;
  /** Scratch volumes (empty directories on it) the task's containers may mount. */
  volumes?: string[];
}

export interface TaskStorage {
  path: string;
  /** Host path of each scratch volume, by name. */
  volumes: Record<string, string>;
}

export interface TaskSandbox {
  taskId: string;
  runtime?: string;
  cpu?: number;
  memoryMiB?: number;
  pidsLimit: number;
  /** The network namespace file (a bind mount) the task's containers join. */
  netnsPath: string;
  /** The task's cgroup, relative to the cgroup root (`/berth/<taskId>`). */
  cgroupPath: string;
  /**
   * The task's network must be in the namespace before its first container is created (gVisor
   * takes over the namespace's interfaces as its sandbox starts, with that container); else it
   * need only be there before the containers start.
   */
  networkBeforeCreate: boolean;
  createdAt: Date;
}

/** Where a container's root filesystem comes from. */
export type RootfsSource =
  /** An image pulled into the image store; the runtime asks its RootfsProvider for an overlay. */
  | { imageDigest: string }
  /** A directory that is already a root filesystem (tests, benchmarks); used as is. */
  | { path: string };

/** ECS `Ulimit` as in the task definition: `name` is `nofile`, `nproc`, `core`, ... */
export interface ContainerUlimit {
  name: string;
  softLimit: number;
  hardLimit: number;
}

export interface BindMount {
  source: string;
  destination: string;
  readonly?: boolean;
  /**
   * When the source directory is empty, first copy into it what the image has at the
   * destination (owner and mode too): a Dockerfile VOLUME's content.
   */
  seedFromImage?: boolean;
}

/**
 * One container, fully resolved: the caller has already merged the image config (Entrypoint,
 * Cmd, Env, WorkingDir, User) with the container definition and the RunTask overrides.
 */
export interface ContainerSpec {
  /** Unique on this host; letters, digits, `_`, `.`, `-` (max 128). */
  id: string;
  /** The sandbox (prepared before) this container belongs to. */
  taskId: string;
  /** The container's name in the task definition (for logs and labels). */
  name: string;
  rootfs: RootfsSource;
  /** The full argv: entryPoint + command after merging. Must not be empty. */
  args: string[];
  /** Environment; PATH, HOSTNAME and HOME get defaults when absent. */
  env?: Record<string, string>;
  /**
   * Environment from the task's secrets: given to the process like `env`, but taken out of the
   * bundle's config.json once the runtime has read it, so no file keeps it.
   */
  secretEnv?: Record<string, string>;
  /** Working directory; default `/`. */
  cwd?: string;
  /** `uid`, `uid:gid`, `name` or `name:group`, resolved in the container's /etc. Default root. */
  user?: string;
  hostname?: string;
  readonlyRootfs?: boolean;
  /** Capability names with or without `CAP_`; `ALL` allowed in both lists. */
  capabilities?: { add?: string[]; drop?: string[] };
  /** Default nofile is 65535:65535 as on Fargate. */
  ulimits?: ContainerUlimit[];
  /** Run catatonit as PID 1 so that the command gets signals forwarded and zombies reaped. */
  initProcessEnabled?: boolean;
  /** ECS dockerLabels; kept in the bundle's annotations and in `ContainerInfo`. */
  labels?: Record<string, string>;
  /** Container-level CPU units, enforced as relative cpu shares (min 2). */
  cpuShares?: number;
  /** Container-level memory hard limit in MiB. */
  memoryMiB?: number;
  /** Container-level memory soft limit in MiB (memoryReservation). */
  memoryReservationMiB?: number;
  /** Bind mounts: the task's volumes (TaskSandbox.volumes), and whatever tests need. */
  mounts?: BindMount[];
}

export interface ExecOptions {
  tty: boolean;
  cols?: number;
  rows?: number;
}

export type ContainerStatus = "created" | "running" | "stopped";

export interface ContainerExit {
  /** The exit code, or 128 + signal number when killed by a signal (137 for SIGKILL). */
  exitCode: number;
  /**
   * True when the kernel's OOM killer killed a process of this container (the container's
   * own limit or the task's). The caller reports "OutOfMemoryError: Container killed due to
   * memory usage" with exit code 137.
   */
  oomKilled: boolean;
  /** When the runtime learnt of the exit (the monitor's exit file mtime). */
  finishedAt: Date;
}

export interface ContainerInfo {
  id: string;
  taskId: string;
  name: string;
  status: ContainerStatus;
  /** Host PID of the container's first process while it runs. */
  pid?: number;
  labels: Record<string, string>;
  createdAt: Date;
  startedAt?: Date;
  exit?: ContainerExit;
}

export interface LogLine {
  stream: "stdout" | "stderr";
  /** RFC 3339 time with nanoseconds, as the monitor wrote it. */
  time: string;
  /** One line without its newline (partial writes are joined). */
  text: string;
}

export interface ReadLogsOptions {
  /** Keep reading until the container has exited and its log is drained. */
  follow?: boolean;
  signal?: AbortSignal;
}

/** CPU and memory of a task sandbox, read from its cgroup. */
export interface SandboxUsage {
  /** Total CPU time used by the task's processes, in nanoseconds. */
  cpuNanos: number;
  memoryBytes: number;
  pids: number;
  /** The task's ephemeral storage (its filesystem), when it has one of its own. */
  storage?: { usedBytes: number; sizeBytes: number };
}

/** What a runtime leaves on the host; a leak test compares these before and after. */
export interface HostFootprint {
  /** Overlay, nsfs and task storage mounts under the runtime's directories. */
  mounts: number;
  /** Loop devices backing task storage. */
  loopDevices: number;
  /** cgroup directories under the runtime's cgroup parent, over all hierarchies. */
  cgroups: number;
  /** Containers in the OCI runtime's state root. */
  runtimeStates: number;
  /** Network namespace files of task sandboxes. */
  netns: number;
  /** Live monitor processes of this runtime. */
  monitors: number;
}

export interface ContainerRuntime {
  /** `runc` or `runsc`. */
  readonly kind: string;
  prepareSandbox(spec: TaskSandboxSpec): Promise<TaskSandbox>;
  /**
   * Makes the task's storage, independently of its sandbox (so that the network need not wait
   * for it); containers created afterwards keep their writes on it. Idempotent.
   */
  prepareStorage(spec: TaskStorageSpec): Promise<TaskStorage>;
  /**
   * GiB of disk the host offers to task storage, reported to the control plane so placement
   * counts ephemeral storage; absent in runtimes without task storage of their own.
   */
  offeredStorageGiB?(): Promise<number>;
  /** Removes the netns, cgroups and storage of a task (deleting its containers first). */
  destroySandbox(taskId: string): Promise<void>;
  /**
   * Makes a network namespace ahead of any task (a prepared sandbox's), its processes at the
   * lowest CPU priority when `background`; returns its path. Optional: runtimes without
   * namespaces of their own get no prepared sandboxes.
   */
  prepareNamespace?(id: string, options?: { background?: boolean }): Promise<string>;
  /** Removes a namespace `prepareNamespace` made that no sandbox took; gone already is fine. */
  removeNamespace?(path: string): Promise<void>;
  /** Every namespace file of this runtime (those of sandboxes and those made ahead). */
  namespaces?(): Promise<string[]>;
  /** Builds the bundle and starts the monitor, which runs `<runtime> create`: status `created`. */
  createContainer(spec: ContainerSpec): Promise<ContainerInfo>;
  /** `<runtime> start`: the process runs. */
  startContainer(id: string): Promise<ContainerInfo>;
  /**
   * Runs `args` inside a running container (health checks): its exit code, 124 if it ran past
   * `timeoutMs`, 126 if it could not be started.
   */
  execInContainer(id: string, args: string[], timeoutMs: number): Promise<number>;
  /**
   * Starts `args` inside a running container with its stdio on pipes (`berth exec`); with
   * `tty`, the process gets a terminal of `cols` x `rows` and both output streams arrive on
   * stdout. The child's exit code is the process's.
   */
  spawnExec(
    id: string,
    args: string[],
    options: ExecOptions,
  ): Promise<ChildProcessWithoutNullStreams>;
  /** Gives a `spawnExec` process on a terminal a new size (the container's terminal follows). */
  resizeExec(exec: ChildProcessWithoutNullStreams, cols: number, rows: number): Promise<void>;
  /** Sends a signal to the container's first process. No-op once it has exited. */
  signalContainer(id: string, signal: NodeJS.Signals): Promise<void>;
  /** SIGTERM, then SIGKILL after `timeoutMs` (ECS stopTimeout), and waits for the exit. */
  stopContainer(id: string, timeoutMs: number): Promise<ContainerExit>;
  /** Resolves when the container has exited (at once when it already has). */
  waitContainer(id: string, signal?: AbortSignal): Promise<ContainerExit>;
  inspectContainer(id: string): Promise<ContainerInfo | undefined>;
  readLogs(id: string, options?: ReadLogsOptions): AsyncIterable<LogLine>;
  /** Kills if needed, `<runtime> delete`, releases the rootfs, removes the bundle and cgroup. */
  deleteContainer(id: string): Promise<void>;
  /** Everything on the host that belongs to this runtime (for adoption after a restart). */
  list(): Promise<{ sandboxes: TaskSandbox[]; containers: ContainerInfo[] }>;
  sandboxUsage(taskId: string): Promise<SandboxUsage>;
  /** The same, for one container (its own cgroup under the task's). */
  containerUsage(id: string): Promise<SandboxUsage>;
  footprint(): Promise<HostFootprint>;
  /** Stops watching exit files; containers keep running. */
  close(): Promise<void>;
}

/**
 * Lends containers their root filesystems; the image store is one. `prepare` must be
 * idempotent for one container id, `release` must succeed when nothing is there.
 * `writableDir`, when given, holds the container's writes (its overlay upper and work dirs):
 * the task's own filesystem, so that they count against its ephemeral storage.
 */
export interface RootfsProvider {
  prepareRootfs(
    imageDigest: string,
    containerId: string,
    writableDir?: string,
  ): Promise<{ path: string }>;
  releaseRootfs(containerId: string): Promise<void>;
}
