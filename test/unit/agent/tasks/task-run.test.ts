/**
 * The task state machine (TaskRun) on the fake runtime, image puller and network, without
 * root: every lifecycle transition in ECS's order, and each way a task stops with its stop
 * code and reason (user stop, essential exit, OOM, SIGKILL after stopTimeout, pull, create,
 * start and network failures, dependsOn and health checks, a stop during the pull, an agent
 * restart that finds a container gone).
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { BerthError, silentLogger, type Logger } from "../../../../src/core/index.js";
import type {
  ContainerAssignment,
  TaskAssignment,
  TaskState,
} from "../../../../src/protocol/index.js";
import { OOM_REASON, TaskRun, type TaskRecord } from "../../../../src/agent/tasks/task-run.js";
import { containerAssignment, taskAssignment } from "../../protocol/assignments.js";
import { FakeImagePuller } from "../images/fake-puller.js";
import { FakeTaskNetwork } from "../network/fake-network.js";
import { FakeContainerRuntime } from "../runtime/fake-runtime.js";

const IMAGE = "registry.test/busybox:latest";
const FOREVER = ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"];

function container(name: string, over: Partial<ContainerAssignment> = {}): ContainerAssignment {
  return containerAssignment({ name, image: IMAGE, command: FOREVER, ...over });
}

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "berth-task-run-"));
  dirs.push(dir);
  return dir;
}
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

let tasks = 0;
function assignment(containers: ContainerAssignment[]): TaskAssignment {
  tasks++;
  return {
    ...taskAssignment({ taskId: `t${process.pid}-${tasks}`, containers }),
    taskArn: `arn:aws:ecs:us-east-1:000000000000:task/default/t${tasks}`,
  };
}

interface Harness {
  run: TaskRun;
  runtime: FakeContainerRuntime;
  images: FakeImagePuller;
  reports: TaskState[];
  /** The distinct statuses reported, in order. */
  statuses(): string[];
  durable: string[];
  /** Resolves when a report says `status`. */
  reached(status: string): Promise<TaskState>;
  /** What the run logged at error level, with its fields. */
  errors: Array<Record<string, unknown>>;
  /** The pull progress reported, per report: [container, bytesDone, bytesTotal]. */
  progress: Array<[string, number, number]>;
}

/** A logger that keeps what is logged at error level (message as `msg`), and drops the rest. */
function errorsInto(errors: Array<Record<string, unknown>>): Logger {
  const log: Logger = {
    ...silentLogger,
    error: (msg, fields) => void errors.push({ msg, ...fields }),
    child: () => log,
  };
  return log;
}

/** The back-off of a failing host step in these tests: 3 more tries, milliseconds apart. */
const BACKOFF_MS = [1, 2, 4];

function harness(
  containers: ContainerAssignment[],
  options: {
    network?: FakeTaskNetwork;
    record?: TaskRecord;
    dataDir?: string;
    persist?: (record: TaskRecord) => Promise<void>;
  } = {},
): Harness {
  const errors: Array<Record<string, unknown>> = [];
  const dataDir = options.dataDir ?? tempDir();
  const runtime = new FakeContainerRuntime({ dataDir });
  const images = new FakeImagePuller([IMAGE]);
  const reports: TaskState[] = [];
  const progress: Array<[string, number, number]> = [];
  const durable: string[] = [];
  const waiters: Array<{ status: string; resolve: (s: TaskState) => void }> = [];
  let clock = 1_000;
  const run = new TaskRun(options.record ?? TaskRun.fresh(assignment(containers)), {
    host: { runtime, images, network: options.network ?? new FakeTaskNetwork() },
    log: errorsInto(errors),
    now: () => ++clock,
    backoffMs: BACKOFF_MS,
    persist: (record, isDurable) => {
      if (options.persist !== undefined) return options.persist(record);
      if (isDurable) durable.push(record.state.lastStatus);
      return Promise.resolve();
    },
    report: (state) => {
      reports.push(state);
      for (const waiter of [...waiters])
        if (waiter.status === state.lastStatus) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(state);
        }
    },
    progress: (...report) => void progress.push(report),
    logArchiveDir: join(dataDir, "logs"),
  });
  return {
    run,
    runtime,
    images,
    reports,
    durable,
    errors,
    progress,
    statuses: () =>
      reports.map((r) => r.lastStatus).filter((s, i, all) => i === 0 || all[i - 1] !== s),
    reached: (status) => {
      const seen = reports.find((r) => r.lastStatus === status);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve) => waiters.push({ status, resolve }));
    },
  };
}

const LIFECYCLE = [
  "PENDING",
  "ACTIVATING",
  "RUNNING",
  "DEACTIVATING",
  "STOPPING",
  "DEPROVISIONING",
  "STOPPED",
];
const FAILED_START = ["PENDING", "DEACTIVATING", "STOPPING", "DEPROVISIONING", "STOPPED"];

describe("task state machine", () => {
  it("goes through ECS's lifecycle in order and stops as asked (UserInitiated)", async () => {
    const h = harness([container("app")]);
    await h.run.start();
    const running = await h.reached("RUNNING");
    assert.equal(running.containers[0]?.lastStatus, "RUNNING");
    assert.match(running.network?.privateIPv4Address ?? "", /^100\.64\./);
    assert.ok(running.pullStartedAt !== undefined && running.pullStoppedAt !== undefined);
    assert.ok(running.startedAt !== undefined);
    await h.run.requestStop("UserInitiated", "Task stopped by user");
    const stopped = await h.reached("STOPPED");
    assert.deepEqual(h.statuses(), LIFECYCLE);
    assert.equal(stopped.stopCode, "UserInitiated");
    assert.equal(stopped.stoppedReason, "Task stopped by user");
    // Its trap ran: SIGTERM, exit 0.
    assert.equal(stopped.containers[0]?.exitCode, 0);
    assert.ok(stopped.stoppingAt !== undefined && stopped.executionStoppedAt !== undefined);
    assert.ok(stopped.stoppedAt !== undefined);
    // RUNNING and STOPPED are written durably, as a machine crash needs.
    assert.deepEqual(h.durable, ["RUNNING", "STOPPED"]);
    const left = await h.runtime.list();
    assert.equal(left.containers.length + left.sandboxes.length, 0);
  });

  it("watches a container again after a failed wait, and sees its exit (issue 12 #5)", async () => {
    const h = harness([container("app", { command: ["sh", "-c", "sleep 0.3; exit 3"] })]);
    let failures = 0;
    h.runtime.waitFault = () =>
      failures++ < 3
        ? Object.assign(new Error("EMFILE: too many open files"), { code: "EMFILE" })
        : undefined;
    await h.run.start();
    const stopped = await h.reached("STOPPED");
    assert.equal(stopped.stopCode, "EssentialContainerExited");
    assert.equal(stopped.containers[0]?.exitCode, 3);
    assert.ok(failures > 3);
  });

  it("keeps the first stop reason", async () => {
    const h = harness([container("app")]);
    await h.run.start();
    await h.reached("RUNNING");
    const first = h.run.requestStop("SpotInterruption", "Spot interruption");
    await h.run.requestStop("UserInitiated", "Task stopped by user");
    await first;
    const stopped = await h.reached("STOPPED");
    assert.equal(stopped.stopCode, "SpotInterruption");
    assert.equal(stopped.stoppedReason, "Spot interruption");
  });

  it("kills a container that ignores SIGTERM once its stopTimeout has passed (137)", async () => {
    const stubborn = ["sh", "-c", "trap '' TERM; while true; do sleep 1; done"];
    const h = harness([container("app", { command: stubborn, stopTimeout: 0 })]);
    await h.run.start();
    await h.run.requestStop("UserInitiated", "Task stopped by user");
    assert.equal((await h.reached("STOPPED")).containers[0]?.exitCode, 137);
  });

  it("stops when an essential container exits (EssentialContainerExited), with its code", async () => {
    const h = harness([container("app", { command: ["sh", "-c", "sleep 0.02; exit 3"] })]);
    await h.run.start();
    const stopped = await h.reached("STOPPED");
    assert.deepEqual(h.statuses(), LIFECYCLE);
    assert.equal(stopped.stopCode, "EssentialContainerExited");
    assert.equal(stopped.stoppedReason, "Essential container in task exited");
    assert.equal(stopped.containers[0]?.exitCode, 3);
  });

  it("runs on when a non-essential container exits", async () => {
    const h = harness([
      container("app"),
      container("side", { essential: false, command: ["sh", "-c", "exit 1"] }),
    ]);
    await h.run.start();
    await h.reached("RUNNING");
    await until(() => h.reports.at(-1)?.containers[1]?.lastStatus === "STOPPED");
    assert.equal(h.reports.at(-1)?.lastStatus, "RUNNING");
    assert.equal(h.reports.at(-1)?.containers[1]?.exitCode, 1);
    await h.run.requestStop("UserInitiated", "Task stopped by user");
    assert.equal((await h.reached("STOPPED")).stopCode, "UserInitiated");
  });

  it("reports a container the OOM killer ended with OutOfMemoryError and 137", async () => {
    const h = harness([container("app")]);
    await h.run.start();
    const running = await h.reached("RUNNING");
    h.runtime.oomKill(running.containers[0]?.runtimeId ?? "");
    const stopped = await h.reached("STOPPED");
    assert.equal(stopped.stopCode, "EssentialContainerExited");
    assert.equal(stopped.stoppedReason, OOM_REASON);
    assert.equal(stopped.containers[0]?.exitCode, 137);
    assert.equal(stopped.containers[0]?.reason, OOM_REASON);
  });

  it("fails to start with CannotPullContainerError, at once for an image that is not there", async () => {
    const h = harness([container("app", { image: "registry.test/nosuch:1" })]);
    await h.run.start();
    const stopped = await h.reached("STOPPED");
    assert.deepEqual(h.statuses(), FAILED_START);
    assert.equal(stopped.stopCode, "TaskFailedToStart");
    assert.match(stopped.stoppedReason ?? "", /^CannotPullContainerError: .*not found/);
    assert.deepEqual(h.images.pulls, ["registry.test/nosuch:1"]);
    assert.equal((await h.runtime.list()).sandboxes.length, 0);
  });

  it("retries a pull that may pass, and runs", async () => {
    const h = harness([container("app")]);
    h.images.failNext(IMAGE, new Error("connection reset by peer"));
    await h.run.start();
    await h.reached("RUNNING");
    assert.equal(h.images.pulls.length, 2);
    await h.run.requestStop("UserInitiated", "Task stopped by user");
  });

  it("reports a pull's progress a few times a second and at its end, not per chunk", async () => {
    const h = harness([container("app")]);
    // 1,000 chunks; the harness's clock moves 1 ms per reading, so the pull takes about 1 s.
    h.images.progressSteps = 1_000;
    await h.run.start();
    try {
      await h.reached("RUNNING");
      assert.deepEqual(h.progress[0], ["app", 0.1, 100], "the first chunk is reported");
      assert.deepEqual(h.progress.at(-1), ["app", 100, 100], "the end is reported");
      assert.ok(
        h.progress.length >= 3 && h.progress.length <= 6,
        `${h.progress.length} reports for 1,000 chunks`,
      );
    } finally {
      await h.run.requestStop("UserInitiated", "Task stopped by user");
    }
  });

  it("fails to start with CannotStartContainerError when a container cannot be created or started", async () => {
    const created = harness([container("app")]);
    created.runtime.createFault = () => new BerthError("ContainerUserNotFound", "no user app");
    await created.run.start();
    const a = await created.reached("STOPPED");
    assert.equal(a.stopCode, "TaskFailedToStart");
    assert.equal(a.stoppedReason, "CannotStartContainerError: no user app");
    assert.deepEqual(created.statuses(), ["PENDING", "ACTIVATING", ...FAILED_START.slice(1)]);

    const started = harness([container("app")]);
    started.runtime.startFault = () => new Error("exec format error");
    await started.run.start();
    const b = await started.reached("STOPPED");
    assert.equal(b.stopCode, "TaskFailedToStart");
    assert.equal(b.stoppedReason, "CannotStartContainerError: exec format error");
    assert.equal(b.containers[0]?.reason, "CannotStartContainerError: exec format error");
  });

  it("fails to start with ResourceInitializationError when the network cannot attach", async () => {
    const network = new FakeTaskNetwork();
    network.attach = () => Promise.reject(new Error("no free address"));
    const h = harness([container("app")], { network });
    await h.run.start();
    const stopped = await h.reached("STOPPED");
    assert.equal(stopped.stopCode, "TaskFailedToStart");
    assert.equal(stopped.stoppedReason, "ResourceInitializationError: no free address");
  });

  it("starts a container after its dependency succeeded, and never after it failed", async () => {
    const init = (code: number) =>
      container("init", { essential: false, command: ["sh", "-c", `exit ${code}`] });
    const app = container("app", { dependsOn: [{ containerName: "init", condition: "SUCCESS" }] });
    const ok = harness([init(0), app]);
    await ok.run.start();
    const running = await ok.reached("RUNNING");
    assert.equal(running.containers[0]?.exitCode, 0);
    await until(() => ok.reports.at(-1)?.containers[1]?.lastStatus === "RUNNING");
    await ok.run.requestStop("UserInitiated", "Task stopped by user");
    await ok.reached("STOPPED");

    const failed = harness([init(1), app]);
    await failed.run.start();
    const stopped = await failed.reached("STOPPED");
    assert.equal(stopped.stopCode, "TaskFailedToStart");
    assert.equal(
      stopped.stoppedReason,
      "CannotStartContainerError: dependency container init exited with code 1; app needs SUCCESS",
    );
    assert.equal(stopped.containers[1]?.runtimeId !== undefined, true);
    assert.notEqual(stopped.containers[1]?.exitCode, 0);
  });

  it("judges health checks and starts a dependsOn HEALTHY container once healthy", async () => {
    const check = {
      command: ["sh", "-c", "true"],
      interval: 0,
      timeout: 1,
      retries: 2,
      startPeriod: 0,
    };
    const h = harness([
      container("db", { healthCheck: check }),
      container("app", { dependsOn: [{ containerName: "db", condition: "HEALTHY" }] }),
    ]);
    let passing = false;
    h.runtime.execResult = () => (passing ? 0 : 1);
    await h.run.start();
    // Failing: UNHEALTHY after `retries` failures, and the dependent waits.
    await until(() => h.reports.at(-1)?.healthStatus === "UNHEALTHY");
    assert.equal(h.reports.at(-1)?.containers[0]?.healthStatus, "UNHEALTHY");
    assert.equal(h.reports.at(-1)?.containers[1]?.lastStatus, "PENDING");
    passing = true;
    await until(() => h.reports.at(-1)?.containers[1]?.lastStatus === "RUNNING");
    assert.equal(h.reports.at(-1)?.healthStatus, "HEALTHY");
    assert.equal(h.reports.at(-1)?.containers[0]?.healthStatus, "HEALTHY");
    passing = false;
    await until(() => h.reports.at(-1)?.healthStatus === "UNHEALTHY");
    await h.run.requestStop("UserInitiated", "Task stopped by user");
    await h.reached("STOPPED");
  });

  it("backs off a cgroup it cannot make, gives up, and stops the task with that reason (issue 13 #17)", async () => {
    const h = harness([container("app")]);
    const mkdir = "mkdir /sys/fs/cgroup/cpu/berth/t1: permission denied";
    h.runtime.sandboxFault = () => new Error(mkdir);
    await h.run.start();
    const stopped = await h.reached("STOPPED");
    assert.equal(stopped.stopCode, "TaskFailedToStart");
    assert.equal(stopped.stoppedReason, `CannotStartContainerError: ${mkdir}`);
    // Tried once and once again per back-off step: bounded, not a spin.
    assert.equal(h.runtime.calls.prepareSandbox, 1 + BACKOFF_MS.length);
    assert.equal((await h.runtime.list()).containers.length, 0);
    // The cause is surfaced in the agent's log, not only swallowed into a retry.
    const gaveUp = h.errors.find((e) =>
      /cgroup and namespaces failed; giving up/.test(String(e.msg)),
    );
    assert.ok(gaveUp, JSON.stringify(h.errors));
    assert.equal(gaveUp.error, mkdir);
    assert.equal(gaveUp.attempts, 1 + BACKOFF_MS.length);
  });

  it("writes no record for ACTIVATING nor STOPPING, only reports them", async () => {
    // ACTIVATING and STOPPING are reported without a write: a restarted agent redoes a start
    // from PENDING as from ACTIVATING, and a stop from DEACTIVATING as from STOPPING.
    const written: string[] = [];
    const h = harness([container("app")], {
      persist: (record) => {
        written.push(record.state.lastStatus);
        return Promise.resolve();
      },
    });
    await h.run.start();
    await h.reached("RUNNING");
    await h.run.requestStop("UserInitiated", "Task stopped by user");
    await h.reached("STOPPED");
    assert.deepEqual(h.statuses(), LIFECYCLE);
    // The one STOPPING write is the container's exit (its code) being recorded, not the status.
    assert.deepEqual(written, [
      "PENDING",
      "RUNNING",
      "DEACTIVATING",
      "STOPPING",
      "DEPROVISIONING",
      "STOPPED",
    ]);
  });

  it("reaches STOPPED when its cgroup cannot be removed nor its record written", async () => {
    let failWrites = false;
    const h = harness([container("app")], {
      persist: () =>
        failWrites ? Promise.reject(new Error("EMFILE: too many open files")) : Promise.resolve(),
    });
    h.runtime.destroyFault = () =>
      new Error("rmdir /sys/fs/cgroup/cpu/berth/t2: device or resource busy");
    await h.run.start();
    await h.reached("RUNNING");
    failWrites = true;
    await h.run.requestStop("UserInitiated", "Task stopped by user");
    const stopped = await h.reached("STOPPED");
    assert.equal(stopped.stoppedReason, "Task stopped by user");
    assert.deepEqual(h.statuses(), LIFECYCLE);
    assert.equal(h.runtime.calls.destroySandbox, 1 + BACKOFF_MS.length);
    assert.ok(
      h.errors.some(
        (e) => e.error === "rmdir /sys/fs/cgroup/cpu/berth/t2: device or resource busy",
      ),
      JSON.stringify(h.errors),
    );
    assert.ok(h.errors.some((e) => e.error === "EMFILE: too many open files"));
  });

  it("stops without starting anything when the stop comes during the pull", async () => {
    const h = harness([container("app")]);
    const release = h.images.hold(IMAGE);
    const starting = h.run.start();
    await h.reached("PENDING");
    await h.run.requestStop("UserInitiated", "Task stopped by user");
    release();
    await starting;
    const stopped = await h.reached("STOPPED");
    assert.equal(stopped.stopCode, "UserInitiated");
    assert.equal(stopped.containers[0]?.runtimeId, undefined);
    assert.ok(!h.statuses().includes("RUNNING"));
    assert.equal((await h.runtime.list()).containers.length, 0);
  });

  it("after an agent restart, stops a task whose essential container is gone", async () => {
    const dataDir = tempDir();
    const first = harness([container("app")], { dataDir });
    await first.run.start();
    await first.reached("RUNNING");
    const record = structuredClone(first.run.record);
    await first.runtime.deleteContainer(record.state.containers[0]?.runtimeId ?? "");
    const again = harness([], { dataDir, record });
    await again.run.adopt();
    const stopped = await again.reached("STOPPED");
    assert.equal(stopped.stopCode, "EssentialContainerExited");
    assert.equal(stopped.containers[0]?.reason, "The container was gone when the agent restarted");
  });

  it("after an agent restart, watches a running container again and sees its exit", async () => {
    const dataDir = tempDir();
    const first = harness([container("app")], { dataDir });
    await first.run.start();
    const running = await first.reached("RUNNING");
    const again = harness([], { dataDir, record: structuredClone(first.run.record) });
    await again.run.adopt();
    await again.runtime.signalContainer(running.containers[0]?.runtimeId ?? "", "SIGTERM");
    const stopped = await again.reached("STOPPED");
    assert.equal(stopped.stopCode, "EssentialContainerExited");
    assert.equal(stopped.containers[0]?.exitCode, 0);
  });
});

/** Waits (bounded) for a condition the state machine reaches on its own. */
async function until(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not reached in time");
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}
