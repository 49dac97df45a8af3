/**
 * One task on this host, through ECS's lifecycle exactly:
 * PENDING (pull) -> ACTIVATING (sandbox, containers) -> RUNNING -> DEACTIVATING -> STOPPING
 * (SIGTERM, stopTimeout, SIGKILL) -> DEPROVISIONING (teardown) -> STOPPED.
 * Containers start in dependsOn order (START, COMPLETE, SUCCESS, HEALTHY by the container's
 * health check). An essential container's exit stops the task. Every transition but
 * ACTIVATING is persisted before it is reported, so a restarted agent resumes from what it
 * last knew (it redoes a start cut short from PENDING and ACTIVATING alike).
 */
import { createWriteStream, mkdirSync } from "node:fs";
import { once } from "node:events";
import { join } from "node:path";
import { PRIVATE_DIR, PRIVATE_FILE, type Logger } from "../../core/index.js";
import type {
  ContainerAssignment,
  ContainerSecrets,
  ContainerState,
  LastStatus,
  TaskAssignment,
  TaskState,
} from "../../protocol/index.js";
import { statusRank } from "../../protocol/index.js";
import { formatReference, parseReference } from "../images/index.js";
import type { ContainerExit } from "../runtime/index.js";
import { awsEnv, buildContainerSpec, containerId, metadataEnv } from "./container-spec.js";
import { dependencyOrder, dependencyVerdict } from "./depends-on.js";
import { afterCheck, taskHealth, type HealthProgress } from "./health-check.js";
import { hostStep } from "./host-step.js";
import type { MetadataEndpoint, PreparedSandboxes, PulledImage, TaskHost } from "./ports.js";

export interface TaskRecord {
  assignment: TaskAssignment;
  state: TaskState;
  /** The sandbox's network namespace, once made (the network's attach needs it). */
  netnsPath?: string;
}

export interface TaskRunDeps {
  host: TaskHost;
  log: Logger;
  now: () => number;
  /**
   * Persists the record (atomically; a killed agent never sees half a record). `durable` also
   * syncs it to disk, which only a machine crash needs: for RUNNING and STOPPED.
   */
  persist: (record: TaskRecord, durable: boolean) => Promise<void>;
  report: (state: TaskState) => void;
  progress: (container: string, bytesDone: number, bytesTotal: number) => void;
  /** Where a container's log is kept once the container is gone: `<dir>/<name>.jsonl`. */
  logArchiveDir: string;
  /**
   * Asks the server for the values of the task's `secrets` and `repositoryCredentials` (kept in
   * memory for the start only); absent, a task naming any fails to start.
   */
  secrets?: (taskArn: string) => Promise<ContainerSecrets[]>;
  /** The task metadata endpoint; without it containers get no ECS_CONTAINER_METADATA_URI*. */
  metadata?: MetadataEndpoint;
  /** Prepared sandboxes (namespace and address made ahead); without: each launch makes its own. */
  prepared?: PreparedSandboxes;
  /**
   * Ships a started container's output (the awslogs driver) when its definition asks; resolves
   * once the container's whole log has been read (it may then be deleted).
   */
  shipLogs?: (containerId: string, target: LogShipTarget) => Promise<void>;
  /**
   * Opens a container's log stream before it is created (the server authorizes it as the
   * execution role); resolves to the refusal, or undefined. Absent, streams open with the first
   * lines.
   */
  openLogStream?: (target: LogShipTarget) => Promise<string | undefined>;
  /** The waits between tries of a failing host step (host-step.ts); shorter in tests. */
  backoffMs?: readonly number[];
}

/** Where a container's awslogs output goes, and whose it is. */
export type LogShipTarget = NonNullable<ContainerAssignment["awslogs"]> & { taskArn: string };

/** The waits before a failed container watch is armed again; the last repeats. */
const WATCH_BACKOFF_MS = [250, 500, 1000, 2000, 5000, 10_000, 30_000];

export const OOM_REASON = "OutOfMemoryError: Container killed due to memory usage";
/** Fargate's ephemeral storage when the task definition names none. */
const DEFAULT_EPHEMERAL_STORAGE_GIB = 20;
/** How often a pull's progress is reported at most (its end always is). */
const PROGRESS_MS = 250;

export class TaskRun {
  readonly #deps: TaskRunDeps;
  readonly record: TaskRecord;
  #stopping: Promise<void> | undefined;
  #stopWanted = false;
  #watching = new Set<string>();
  #starting = false;
  #startQueue: Promise<void> = Promise.resolve();
  /** The task's network and storage setup while it may be under way (teardown waits for it). */
  #setup: Promise<unknown> = Promise.resolve();
  /** Log shipping that must finish reading before containers are deleted. */
  readonly #shipping: Array<Promise<void>> = [];

  constructor(record: TaskRecord, deps: TaskRunDeps) {
    this.record = record;
    this.#deps = deps;
  }

  get taskArn(): string {
    return this.record.state.taskArn;
  }

  get state(): TaskState {
    return this.record.state;
  }

  get stopped(): boolean {
    return this.state.lastStatus === "STOPPED";
  }

  static fresh(assignment: TaskAssignment): TaskRecord {
    return {
      assignment,
      state: {
        taskArn: assignment.taskArn,
        lastStatus: "PROVISIONING",
        containers: assignment.containers.map((c) => ({
          name: c.name,
          lastStatus: "PENDING" as const,
        })),
      },
    };
  }

  /** Each container's name and runtime id. */
  containerIds(): Array<{ name: string; id: string }> {
    return this.record.assignment.containers.map((c) => ({ name: c.name, id: this.#id(c) }));
  }

  #id(container: ContainerAssignment): string {
    const index = this.record.assignment.containers.indexOf(container);
    return containerId(this.record.assignment.taskId, container.name, index);
  }

  #container(name: string): ContainerState {
    const found = this.state.containers.find((c) => c.name === name);
    if (found === undefined) throw new Error(`task has no container ${name}`);
    return found;
  }

  /**
   * Records, then reports. On the way down (`stopping`) a record that cannot be written after
   * the back-off does not hold the task up: it is reported all the same, so that it reaches
   * STOPPED (a restarted agent that finds the older record only stops it again).
   *
   * A status in PASSING is reported without its record being written: a restarted agent does
   * from the record written before it exactly what it would do from its own (see PASSING).
   */
  async #transition(
    status: LastStatus | undefined,
    patch: Partial<TaskState> = {},
    stopping = false,
  ): Promise<void> {
    const state = this.state;
    if (status !== undefined && statusRank(status) > statusRank(state.lastStatus))
      state.lastStatus = status;
    Object.assign(state, patch);
    if (status !== undefined && PASSING.has(status)) {
      this.#deps.report(structuredClone(state));
      return;
    }
    const durable = status === "RUNNING" || status === "STOPPED";
    if (stopping)
      await this.#step("recording the task's state", () =>
        this.#deps.persist(this.record, durable),
      ).catch(() => undefined);
    else await this.#deps.persist(this.record, durable);
    this.#deps.report(structuredClone(state));
  }

  /** A host step of this task, tried again with back-off (host-step.ts). */
  #step<T>(what: string, step: () => Promise<T>): Promise<T> {
    return hostStep(what, step, {
      log: this.#deps.log,
      ...(this.#deps.backoffMs === undefined ? {} : { backoffMs: this.#deps.backoffMs }),
    });
  }

  /** Runs the task from the beginning (a new task, or one whose start an agent crash cut short). */
  async start(): Promise<void> {
    const { host, log } = this.#deps;
    const { assignment } = this.record;
    this.#starting = true;
    try {
      await this.#transition("PENDING", {
        pullStartedAt: this.state.pullStartedAt ?? this.#deps.now(),
      });
      // A prepared sandbox's namespace and address, if its pool has one ready.
      const prepared = await this.#deps.prepared?.take(assignment).catch((error: unknown) => {
        log.warn("taking a prepared sandbox failed", { error: message(error) });
        return undefined;
      });
      // The sandbox (cgroup, network namespace) and the storage are made while the image is
      // pulled.
      const sandbox = this.#step("making the task's cgroup and namespaces", () =>
        host.runtime.prepareSandbox({
          taskId: assignment.taskId,
          ...(assignment.runtime === undefined ? {} : { runtime: assignment.runtime }),
          cpu: assignment.cpu,
          memoryMiB: assignment.memory,
          ...(assignment.pidMode === undefined ? {} : { pidMode: assignment.pidMode }),
          ...(prepared === undefined ? {} : { netnsPath: prepared.netnsPath }),
        }),
      );
      sandbox.catch(() => undefined);
      const storage = host.runtime.prepareStorage({
        taskId: assignment.taskId,
        ephemeralStorageGiB: assignment.ephemeralStorageGiB ?? DEFAULT_EPHEMERAL_STORAGE_GIB,
        volumes: [
          ...new Set(
            assignment.containers.flatMap((c) => c.mountPoints ?? []).map((m) => m.sourceVolume),
          ),
        ],
      });
      // ... and the task's address on its cluster's network set up in it (its attach).
      const network = sandbox.then((made) => {
        this.record.netnsPath = made.netnsPath;
        if (prepared !== undefined) return prepared.address;
        return host.network.attach({
          taskId: assignment.taskId,
          clusterArn: assignment.clusterArn,
          netnsPath: made.netnsPath,
          ...(assignment.subnet === undefined ? {} : { subnet: assignment.subnet }),
        });
      });
      this.#setup = Promise.allSettled([network, storage]);
      // Secrets are fetched just in time, before the pull (a private registry's credentials
      // and the execution role's registry auth are among them), and live in this start's
      // memory only.
      let secrets: ContainerSecrets[] = [];
      if (
        assignment.executionRoleArn !== undefined ||
        assignment.containers.some((c) => (c.secrets ?? []).length > 0 || c.repositoryCredentials)
      )
        try {
          if (this.#deps.secrets === undefined) throw new Error("this agent cannot fetch secrets");
          secrets = await this.#deps.secrets(this.taskArn);
        } catch (error) {
          await this.#failToStart(
            `ResourceInitializationError: unable to pull secrets or registry auth: ${message(error)}`,
          );
          return;
        }
      const secretsOf = (name: string): ContainerSecrets | undefined =>
        secrets.find((s) => s.name === name);
      const images = new Map<string, PulledImage>();
      try {
        for (const image of new Set(assignment.containers.map((c) => c.image))) {
          if (this.#stopWanted) break;
          const first = assignment.containers.find((c) => c.image === image);
          const own = secretsOf(first?.name ?? "")?.registryCredential;
          const credential =
            own ?? assignment.registryCredentials.find((r) => image.startsWith(`${r.registry}/`));
          const owner = first?.name ?? "";
          const reference = pinnedReference(image, first?.imageDigest);
          images.set(
            image,
            await pullWithRetries(() =>
              host.images.pull(reference, {
                ...(credential === undefined
                  ? {}
                  : {
                      credentials: { username: credential.username, password: credential.password },
                    }),
                // The task's own credentials are shown to the registry even for a cached image.
                ...(own === undefined ? {} : { recheck: true }),
                onProgress: this.#progressOf(owner),
              }),
            ),
          );
        }
      } catch (error) {
        await this.#failToStart(`CannotPullContainerError: ${message(error)}`);
        return;
      }
      // One write and one report for both: nobody reads the pull's end before ACTIVATING.
      if (this.#stopWanted) {
        await this.#transition(undefined, { pullStoppedAt: this.#deps.now() });
        return;
      }
      await this.#transition("ACTIVATING", { pullStoppedAt: this.#deps.now() });
      let volumes: Record<string, string>;
      try {
        volumes = (await Promise.all([sandbox, storage]))[1].volumes;
      } catch (error) {
        await this.#failToStart(`CannotStartContainerError: ${message(error)}`);
        return;
      }
      // Docker's awslogs driver creates the stream as it creates the container, as the execution
      // role on Fargate: a role that may not fails the task with ECS's text, before any starts.
      for (const container of assignment.containers) {
        if (container.awslogs === undefined || this.#deps.openLogStream === undefined) continue;
        const refused = await this.#deps.openLogStream({
          taskArn: this.taskArn,
          ...container.awslogs,
        });
        if (refused !== undefined) {
          // The ECS agent (aws-sdk-go) also appends "status code: 400, request id: ..." here.
          await this.#failToStart(
            `ResourceInitializationError: failed to validate logger args: create stream has been retried 1 times: failed to create Cloudwatch log stream: ${refused} : exit status 1`,
          );
          return;
        }
      }
      // Containers are created while the network is still being set up (they join its
      // namespace by path); only the metadata endpoint's address must be known first.
      const gateway = await host.network
        .gateway(assignment.clusterArn, assignment.subnet)
        .catch(() => undefined);
      const metadata = gateway === undefined ? undefined : await this.#metadataUrl(gateway);
      const apiUrl =
        gateway === undefined || metadata === undefined
          ? undefined
          : await this.#deps.metadata?.apiUrl?.(gateway);
      // Unless the runtime takes the network over as it creates the first container (gVisor).
      if ((await sandbox).networkBeforeCreate) await network.catch(() => undefined);
      try {
        for (const [index, container] of assignment.containers.entries()) {
          const image = images.get(container.image) as PulledImage;
          const platformEnv = {
            ...awsEnv(assignment, apiUrl),
            ...(metadata === undefined ? {} : metadataEnv(metadata, assignment.taskId, index)),
          };
          const secretEnv = Object.fromEntries(
            (secretsOf(container.name)?.environment ?? []).map((e) => [e.name, e.value]),
          );
          await host.runtime.createContainer(
            buildContainerSpec(
              assignment.taskId,
              index,
              container,
              image,
              volumes,
              platformEnv,
              secretEnv,
            ),
          );
          this.#container(container.name).imageDigest = image.digest;
          this.#container(container.name).runtimeId = this.#id(container);
        }
      } catch (error) {
        await this.#failToStart(`CannotStartContainerError: ${message(error)}`);
        return;
      }
      try {
        this.state.network = await network;
      } catch (error) {
        // ECS's reason when a task's network interface cannot be set up.
        await this.#failToStart(`ResourceInitializationError: ${message(error)}`);
        return;
      }
      if (metadata !== undefined && this.state.network.gateway !== gateway)
        log.warn("the cluster network changed under a starting task; its metadata URI is stale", {
          taskArn: this.taskArn,
        });
      await this.#listenForMetadata();
      if (this.#stopWanted) return;
      await this.#startReady();
    } catch (error) {
      log.error("task failed unexpectedly", { taskArn: this.taskArn, error: message(error) });
      this.state.stopCode ??= "TaskFailedToStart";
      this.state.stoppedReason ??= `CannotStartContainerError: ${message(error)}`;
      this.#stopWanted = true;
    } finally {
      this.#starting = false;
      // Here, not after: the early returns above (a stop asked for during the pull or the
      // setup) skipped a check placed after the try, and such a task never stopped.
      if (this.#stopWanted) await this.stop();
    }
  }

  /**
   * A pull's progress, reported at most every PROGRESS_MS and at its end: the store calls back
   * per chunk it reads (about 640 times for a 10 MiB layer), and each report is a message to
   * the server.
   */
  #progressOf(container: string): (bytesDone: number, bytesTotal: number) => void {
    let last = -Infinity;
    return (done, total) => {
      const now = this.#deps.now();
      if (done < total && now - last < PROGRESS_MS) return;
      last = now;
      this.#deps.progress(container, done, total);
    };
  }

  /** The metadata endpoint's base URL on the task's network, if it can be served. */
  async #metadataUrl(gateway: string): Promise<string | undefined> {
    try {
      return await this.#deps.metadata?.url(gateway);
    } catch (error) {
      this.#deps.log.warn("no task metadata endpoint", { gateway, error: message(error) });
      return undefined;
    }
  }

  /** Serves the metadata endpoint on the task's gateway (already served: nothing to do). */
  async #listenForMetadata(): Promise<void> {
    const gateway = this.state.network?.gateway;
    if (gateway === undefined) return;
    try {
      await this.#deps.metadata?.listen(gateway);
    } catch (error) {
      this.#deps.log.warn("the task metadata endpoint cannot listen", {
        gateway,
        error: message(error),
      });
    }
  }

  /**
   * Starts every created container whose dependencies are met; RUNNING once the essential ones
   * run. Calls are serialised: an exit seen while a start is under way waits its turn, so no
   * container is started twice.
   */
  #startReady(): Promise<void> {
    const next = this.#startQueue.then(() => this.#startReadyNow());
    this.#startQueue = next.catch(() => undefined);
    return next;
  }

  async #startReadyNow(): Promise<void> {
    if (this.#stopWanted || this.#stopping !== undefined) return;
    const { runtime } = this.#deps.host;
    for (const container of this.record.assignment.containers) {
      const state = this.#container(container.name);
      if (state.lastStatus !== "PENDING") continue;
      const verdict = dependencyVerdict(container, (name) => this.#container(name));
      if (verdict === "wait") continue;
      if (verdict !== "ready") {
        await this.#failToStart(`CannotStartContainerError: ${verdict}`);
        return;
      }
      try {
        await runtime.startContainer(this.#id(container));
      } catch (error) {
        // The runtime's own words, on the container as ECS puts them there too.
        state.reason = `CannotStartContainerError: ${message(error)}`;
        await this.#failToStart(state.reason);
        return;
      }
      state.lastStatus = "RUNNING";
      this.#watch(container);
    }
    const essentialsStarted = this.record.assignment.containers
      .filter((c) => c.essential)
      .every((c) => this.#container(c.name).lastStatus !== "PENDING");
    if (essentialsStarted && statusRank(this.state.lastStatus) < statusRank("RUNNING")) {
      const now = this.#deps.now();
      await this.#transition("RUNNING", { startedAt: now, connectivityAt: now });
    } else {
      await this.#transition(undefined);
    }
  }

  #watch(container: ContainerAssignment): void {
    const id = this.#id(container);
    if (this.#watching.has(id)) return;
    this.#watching.add(id);
    const shipping =
      container.awslogs === undefined
        ? undefined
        : this.#deps.shipLogs?.(id, { taskArn: this.taskArn, ...container.awslogs });
    if (shipping !== undefined) this.#shipping.push(shipping);
    if (container.healthCheck !== undefined) this.#checkHealth(container, id);
    this.#deps.log.debug("watching container", { id });
    // A wait that fails (descriptors exhausted by a flood, a record unreadable for a moment) is
    // armed again with back-off for as long as the container runs: a watcher that gave up left
    // a killed container's task RUNNING until the agent restarted (issue 12 #5).
    const arm = (attempt: number): void => {
      this.#deps.host.runtime.waitContainer(id).then(
        (exit) => {
          this.#deps.log.debug("container exited", {
            id,
            exitCode: exit.exitCode,
            oomKilled: exit.oomKilled,
          });
          this.#exited(container, exit);
        },
        (error: unknown) => {
          if (this.#container(container.name).lastStatus !== "RUNNING") return;
          const backoff = this.#deps.backoffMs ?? WATCH_BACKOFF_MS;
          const delay = backoff[Math.min(attempt, backoff.length - 1)] ?? 1000;
          this.#deps.log.warn("lost sight of a container; watching it again", {
            id,
            error: message(error),
            retryInMs: delay,
          });
          setTimeout(() => arm(attempt + 1), delay).unref();
        },
      );
    };
    arm(0);
  }

  /**
   * The container's health check, run inside it every `interval` seconds as Docker runs it:
   * HEALTHY after a pass, UNHEALTHY after `retries` failures in a row (failures during the
   * start period do not count), UNKNOWN until then. The task's health rolls up from its
   * essential containers, and a change may let a `dependsOn: HEALTHY` container start.
   */
  #checkHealth(container: ContainerAssignment, id: string): void {
    const check = container.healthCheck;
    if (check === undefined) return;
    const state = this.#container(container.name);
    state.healthStatus ??= "UNKNOWN";
    const startedAt = Date.now();
    let progress: HealthProgress = { status: state.healthStatus, failures: 0 };
    const tick = async (): Promise<void> => {
      if (state.lastStatus !== "RUNNING" || this.#stopping !== undefined) return;
      const code = await this.#deps.host.runtime
        .execInContainer(id, check.command, check.timeout * 1000)
        .catch(() => 126);
      if (state.lastStatus !== "RUNNING" || this.#stopping !== undefined) return;
      progress = afterCheck(progress, check, code, Date.now() - startedAt);
      const status = progress.status;
      if (status !== state.healthStatus) {
        state.healthStatus = status;
        this.#rollUpHealth();
        await this.#transition(undefined);
        await this.#startReady();
      }
      setTimeout(() => void tick().catch(() => undefined), check.interval * 1000);
    };
    setTimeout(() => void tick().catch(() => undefined), check.interval * 1000);
  }

  #rollUpHealth(): void {
    this.state.healthStatus = taskHealth(
      this.record.assignment.containers.map((c) => ({
        essential: c.essential,
        checked: c.healthCheck !== undefined,
        status: this.#container(c.name).healthStatus,
      })),
    );
  }

  #exited(container: ContainerAssignment, exit: ContainerExit): void {
    const state = this.#container(container.name);
    if (state.lastStatus === "STOPPED") return;
    state.lastStatus = "STOPPED";
    state.exitCode = exit.oomKilled ? 137 : exit.exitCode;
    if (exit.oomKilled) state.reason = OOM_REASON;
    const next = async (): Promise<void> => {
      if (this.#stopping !== undefined) return this.#transition(undefined);
      if (container.essential) {
        // ECS puts the OOM text in the task's stoppedReason too.
        const reason = exit.oomKilled ? OOM_REASON : "Essential container in task exited";
        return this.requestStop("EssentialContainerExited", reason);
      }
      if (this.state.containers.every((c) => c.lastStatus === "STOPPED"))
        return this.requestStop("EssentialContainerExited", "Essential container in task exited");
      await this.#startReady();
    };
    next().catch((error: unknown) =>
      this.#deps.log.error("container exit handling failed", { error: message(error) }),
    );
  }

  /** Asks the task to stop; the first reason given wins. Resolves when it is STOPPED. */
  async requestStop(stopCode: string, stoppedReason: string): Promise<void> {
    this.#stopWanted = true;
    this.state.stopCode ??= stopCode;
    this.state.stoppedReason ??= stoppedReason;
    // While it is starting, `start` notices at its next step and stops by itself.
    if (this.#starting) return;
    return this.stop();
  }

  async #failToStart(reason: string): Promise<void> {
    this.state.stopCode ??= "TaskFailedToStart";
    this.state.stoppedReason ??= reason;
    this.#stopWanted = true;
    await this.stop();
  }

  /** The stop sequence; idempotent and safe to call again after a restart. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stopSequence();
    return this.#stopping;
  }

  async #stopSequence(): Promise<void> {
    const { runtime } = this.#deps.host;
    const { assignment } = this.record;
    if (this.stopped) return;
    await this.#transition(
      "DEACTIVATING",
      { stoppingAt: this.state.stoppingAt ?? this.#deps.now() },
      true,
    );
    await this.#transition("STOPPING", {}, true);
    // Dependents stop before what they depend on.
    for (const container of [...dependencyOrder(assignment.containers)].reverse()) {
      const state = this.#container(container.name);
      if (state.lastStatus !== "RUNNING") continue;
      try {
        const exit = await runtime.stopContainer(this.#id(container), container.stopTimeout * 1000);
        state.lastStatus = "STOPPED";
        state.exitCode = exit.oomKilled ? 137 : exit.exitCode;
        if (exit.oomKilled) state.reason = OOM_REASON;
      } catch (error) {
        this.#deps.log.warn("stopping a container failed", {
          id: this.#id(container),
          error: message(error),
        });
      }
    }
    await this.#transition("DEPROVISIONING", { executionStoppedAt: this.#deps.now() }, true);
    await this.teardown();
    for (const state of this.state.containers) state.lastStatus = "STOPPED";
    await this.#transition("STOPPED", { stoppedAt: this.#deps.now() }, true);
  }

  /** Removes every container and the sandbox of this task; what is already gone is fine. */
  async teardown(): Promise<void> {
    const { runtime } = this.#deps.host;
    // awslogs must have read every line first; a stalled server holds teardown up 30 s at most.
    if (this.#shipping.length > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled(this.#shipping),
        new Promise((resolve) => (timer = setTimeout(resolve, 30_000))),
      ]);
      clearTimeout(timer);
    }
    for (const container of this.record.assignment.containers) {
      await this.#archiveLog(container).catch((error: unknown) =>
        this.#deps.log.warn("archiving a container log failed", { error: message(error) }),
      );
      // Each step gives up after its back-off (logged there): the task still reaches STOPPED.
      await this.#step(`deleting container ${this.#id(container)}`, () =>
        runtime.deleteContainer(this.#id(container)),
      ).catch(() => undefined);
    }
    const { taskId, clusterArn } = this.record.assignment;
    await this.#setup;
    // Before the namespace goes: the address is free once the task's link is gone.
    await this.#step("releasing the task's network", () =>
      this.#deps.host.network.detach({
        taskId,
        clusterArn,
        netnsPath: this.record.netnsPath ?? "",
      }),
    ).catch(() => undefined);
    const gateway = this.state.network?.gateway;
    if (gateway !== undefined)
      await this.#deps.metadata
        ?.release(gateway, taskId)
        .catch((error: unknown) =>
          this.#deps.log.warn("releasing the metadata endpoint failed", { error: message(error) }),
        );
    await this.#step("removing the task's cgroup and namespaces", () =>
      runtime.destroySandbox(taskId),
    ).catch(() => undefined);
  }

  /** Keeps what the container printed after the container itself is deleted. */
  async #archiveLog(container: ContainerAssignment): Promise<void> {
    const id = this.#id(container);
    if ((await this.#deps.host.runtime.inspectContainer(id)) === undefined) return;
    mkdirSync(this.#deps.logArchiveDir, { recursive: true, mode: PRIVATE_DIR });
    const file = join(this.#deps.logArchiveDir, `${container.name}.jsonl`);
    const out = createWriteStream(file, { mode: PRIVATE_FILE });
    try {
      for await (const line of this.#deps.host.runtime.readLogs(id)) {
        if (!out.write(JSON.stringify(line) + "\n")) await once(out, "drain");
      }
    } catch (error) {
      this.#deps.log.warn("archiving a container log failed", { id, error: message(error) });
    } finally {
      out.end();
      await once(out, "close");
    }
  }

  /**
   * Picks the task up again after an agent restart: running containers are watched again,
   * exits that happened meanwhile are applied with their real codes, an interrupted start is
   * redone from scratch, an interrupted stop is finished.
   */
  async adopt(): Promise<void> {
    const { runtime } = this.#deps.host;
    const status = this.state.lastStatus;
    if (status === "STOPPED") return;
    if (statusRank(status) >= statusRank("DEACTIVATING") || this.#stopWanted) return this.stop();
    if (statusRank(status) < statusRank("RUNNING")) {
      await this.teardown();
      delete this.state.network;
      for (const state of this.state.containers) {
        state.lastStatus = "PENDING";
        delete state.runtimeId;
      }
      return this.start();
    }
    for (const container of this.record.assignment.containers) {
      const state = this.#container(container.name);
      if (state.lastStatus !== "RUNNING") continue;
      const info = await runtime.inspectContainer(this.#id(container));
      if (info === undefined) {
        state.lastStatus = "STOPPED";
        state.reason = "The container was gone when the agent restarted";
        if (container.essential)
          return this.requestStop("EssentialContainerExited", "Essential container in task exited");
        continue;
      }
      this.#watch(container);
    }
    // Its containers were given the endpoint's URIs (the port is kept across restarts).
    await this.#listenForMetadata();
    await this.#startReady();
  }
}

/**
 * Statuses reported without writing the task's record: `adopt` redoes a start from PENDING and
 * ACTIVATING alike (teardown, then start), and a stop from DEACTIVATING and STOPPING alike (the
 * whole stop sequence again), and what ACTIVATING adds (pullStoppedAt) is set again when the
 * start is redone. A launch and a stop each save a write. Written: PENDING (the first record of
 * the task: the assignment), RUNNING (the containers' runtime ids), DEACTIVATING (the stop's code
 * and reason, the first reason given winning), DEPROVISIONING (the containers' exit codes, before
 * teardown deletes the containers) and STOPPED.
 */
const PASSING: ReadonlySet<LastStatus> = new Set(["ACTIVATING", "STOPPING"]);

/** Errors a pull will not outgrow: the image is not there, or we may not have it. */
const PERMANENT_PULL_ERRORS = new Set([
  "ImageNotFound",
  "ImageAccessDenied",
  "RegistryUnauthorized",
  "InvalidImageReference",
  "DigestMismatch",
  "UnsupportedImage",
  "ManifestInvalid",
  "ImagePlatformMissing",
  "DigestInvalid",
]);
const PULL_BACKOFF_MS = [500, 1000, 2000, 4000, 8000];

/** `REPO@DIGEST` when the server pinned the image's tag (an image on the host then needs no registry call). */
function pinnedReference(image: string, digest: string | undefined): string {
  if (digest === undefined) return image;
  try {
    return formatReference({ ...parseReference(image), tag: undefined, digest });
  } catch {
    return image; // the pull says what is wrong with it
  }
}

/**
 * Pulls, retrying what may pass (the registry restarting, a dropped connection) with backoff
 * for about 15 s, as the ECS agent retries pulls before it reports CannotPullContainerError.
 */
async function pullWithRetries<T>(pull: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await pull();
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      const delay = PULL_BACKOFF_MS[attempt];
      if (delay === undefined || (typeof code === "string" && PERMANENT_PULL_ERRORS.has(code)))
        throw error;
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
