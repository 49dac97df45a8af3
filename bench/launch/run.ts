/**
 * `npm run bench:launch`: RunTask -> RUNNING latency and throughput of a started Berth, beside
 * two peers measured in the same run on the same image:
 *   - the floor: bare `runc run` of a prepared bundle of the same busybox rootfs (/bin/true);
 *   - podman: `podman run -d` of the same image (what a developer would use instead).
 * Rows, all in one run:
 *   - warm image cache, BENCH_TASKS tasks (default 200) one after another, p50/p90/p99, measured
 *     twice: from the client's side (RunTask sent -> RUNNING seen through DescribeTasks, polled
 *     every 5 ms), and from the task's own timestamps (`startedAt - createdAt`);
 *   - where that time goes, from the same tasks: the RunTask call (store write, placement),
 *     dispatch (createdAt -> pullStartedAt: the assignment reaching the agent), the host's work
 *     (pullStartedAt -> startedAt), and the report back (startedAt -> RUNNING seen by the client);
 *   - tasks started per second, sustained: 20 callers each running a task and waiting for it to
 *     run (seen by one DescribeTasks poller they share), again and again, for BENCH_SECONDS
 *     (default 60; the peers for BENCH_PEER_SECONDS, 20);
 *   - cold cache with a ~10 MiB image (and ~200 MiB with BENCH_COLD_BIG=1);
 *   - the warm rows again with the host's sandbox pool off (its agent restarted with
 *     BERTH_SANDBOX_POOL=0): every launch makes its own namespace, address and task storage.
 * Every Berth figure is also printed as a ratio to the floor. The machine's load average is
 * printed before and after: on a shared VM the absolute figures move with it.
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import {
  DescribeTasksCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  type Task,
} from "@aws-sdk/client-ecs";
import { ECRClient, GetAuthorizationTokenCommand } from "@aws-sdk/client-ecr";
import {
  BUSYBOX,
  pushBusyboxImage,
  startAgentProcess,
  startBerthProcess,
  type AgentProcess,
  type BerthProcess,
} from "../../src/testing/index.js";
import { buildOciSpec } from "../../src/agent/runtime/index.js";

const TASKS = Number(process.env.BENCH_TASKS ?? 200);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 60);
const PEER_SECONDS = Number(process.env.BENCH_PEER_SECONDS ?? 20);
const PEER_RUNS = Number(process.env.BENCH_PEER_RUNS ?? 20);
const CONCURRENCY = 20;
const MiB = 1024 * 1024;

const quantile = (values: number[], q: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
};

function timeCommand(command: string, args: string[]): number {
  const start = process.hrtime.bigint();
  const result = spawnSync(command, args, { stdio: ["ignore", "ignore", "pipe"] });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.status !== 0)
    throw new Error(`${command} ${args.join(" ")} failed: ${result.stderr.toString()}`);
  return ms;
}

function runCommand(command: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn(command, args, { stdio: "ignore" });
    child.on("error", reject);
    child.on("exit", (code) =>
      code === 0
        ? resolve(Number(process.hrtime.bigint() - start) / 1e6)
        : reject(new Error(`${command} exited ${String(code)}`)),
    );
  });
}

/** The floor: a bundle of the same busybox rootfs, run by runc directly. */
function runcBundle(): { dir: string; root: string } {
  const dir = mkdtempSync(join(tmpdir(), "bench-runc-"));
  const rootfs = join(dir, "rootfs");
  mkdirSync(join(rootfs, "bin"), { recursive: true });
  copyFileSync(BUSYBOX, join(rootfs, "bin", "busybox"));
  symlinkSync("busybox", join(rootfs, "bin", "true"));
  execFileSync("runc", ["spec"], { cwd: dir });
  const spec = JSON.parse(
    execFileSync("cat", [join(dir, "config.json")], { encoding: "utf8" }),
  ) as {
    process: { args: string[]; terminal: boolean };
  };
  spec.process.args = ["/bin/true"];
  spec.process.terminal = false;
  writeFileSync(join(dir, "config.json"), JSON.stringify(spec));
  return { dir, root: join(dir, "state") };
}

const PODMAN = ["--runtime", "runc"];
// podman works here only with these ulimits (see the README); its pulls log in like ECR's.
const PODMAN_RUN = [
  "run",
  "-d",
  "--ulimit",
  "nofile=1024:1024",
  "--ulimit",
  "nproc=1024:1024",
  "--tls-verify=false",
  "--label",
  "berth-bench=launch",
];

/**
 * A second floor: `runc run` of the bundle Berth itself would give the same container (its
 * config.json from the agent's own buildOciSpec: the seccomp profile, capabilities, masked
 * paths, rlimits, a cgroup with the task's limits, catatonit-free /bin/true), joining a network
 * namespace made once beforehand as a task joins its prepared one. What this costs over the
 * plain floor is what the isolation every task gets costs in runc; what Berth takes over it is
 * Berth's own.
 */
function berthBundle(floor: { dir: string }): {
  dir: string;
  run: (id: string) => string[];
  remove: () => void;
} {
  const dir = mkdtempSync(join(tmpdir(), "bench-berth-bundle-"));
  const netns = `bench-floor-${randomBytes(4).toString("hex")}`;
  execFileSync("ip", ["netns", "add", netns]);
  const cgroupParent = `/${netns}`;
  const etcFiles = {
    hostname: join(dir, "hostname"),
    hosts: join(dir, "hosts"),
    resolvConf: join(dir, "resolv.conf"),
  };
  writeFileSync(etcFiles.hostname, "bench\n");
  writeFileSync(etcFiles.hosts, "127.0.0.1 localhost\n");
  writeFileSync(etcFiles.resolvConf, "");
  const config = (id: string): string =>
    JSON.stringify(
      buildOciSpec(
        {
          id,
          taskId: id,
          name: "app",
          rootfs: { path: join(floor.dir, "rootfs") },
          args: ["/bin/true"],
        },
        {
          rootfsPath: join(floor.dir, "rootfs"),
          netnsPath: `/var/run/netns/${netns}`,
          cgroupsPath: `${cgroupParent}/${id}`,
          cgroupVersion: existsSync("/sys/fs/cgroup/cgroup.controllers") ? 2 : 1,
          user: { uid: 0, gid: 0, additionalGids: [], home: "/root" },
          etcFiles,
          initBinary: "/usr/bin/catatonit",
        },
      ),
    );
  return {
    dir,
    // One config per run (its own cgroup, as each task has), written before the timing starts.
    run: (id) => {
      writeFileSync(join(dir, "config.json"), config(id));
      return ["--root", join(dir, "state"), "run", "--bundle", dir, id];
    },
    remove: () => {
      for (const hierarchy of readdirSync("/sys/fs/cgroup")) {
        const parent = join("/sys/fs/cgroup", hierarchy, cgroupParent);
        if (!existsSync(parent)) continue;
        for (const child of readdirSync(parent, { withFileTypes: true }))
          if (child.isDirectory()) rmdirSync(join(parent, child.name));
        rmdirSync(parent);
      }
      spawnSync("ip", ["netns", "delete", netns]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** `aws ecr get-login-password | podman login ...`, as a user would. */
function podmanLogin(host: string, creds: string): void {
  const password = creds.slice(creds.indexOf(":") + 1);
  const result = spawnSync(
    "podman",
    ["login", "--tls-verify=false", "--username", "AWS", "--password-stdin", host],
    { input: password },
  );
  if (result.status !== 0) throw new Error(`podman login failed: ${result.stderr.toString()}`);
}

async function registryCreds(berth: BerthProcess): Promise<string> {
  const ecr = new ECRClient(berth.clientConfig);
  try {
    const { authorizationData = [] } = await ecr.send(new GetAuthorizationTokenCommand({}));
    return Buffer.from(authorizationData[0]?.authorizationToken ?? "", "base64").toString("utf8");
  } finally {
    ecr.destroy();
  }
}

/** Removes this benchmark's podman containers (by its label): never another user's. */
function podmanCleanup(): void {
  const ids = spawnSync(
    "podman",
    [...PODMAN, "ps", "-aq", "--filter", "label=berth-bench=launch"],
    {
      encoding: "utf8",
    },
  )
    .stdout.split("\n")
    .filter(Boolean);
  if (ids.length > 0) spawnSync("podman", [...PODMAN, "rm", "-f", ...ids], { stdio: "ignore" });
}

/**
 * A call tried again (3 times in all) when the connection dropped: on a loaded machine a kept-
 * alive socket can be closed by the server just as the client reuses it.
 */
async function retried<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (attempt >= 3 || (code !== "ECONNRESET" && code !== "EPIPE")) throw error;
    }
  }
}

interface Launch {
  /** RunTask sent -> RUNNING seen through DescribeTasks. */
  client: number;
  /** The task's startedAt - createdAt. */
  task: number;
  runTask: number;
  dispatch: number;
  host: number;
  report: number;
}

class BerthSide {
  private constructor(
    readonly berth: BerthProcess,
    private agent: AgentProcess,
    readonly ecs: ECSClient,
  ) {}

  static async start(): Promise<BerthSide> {
    const berth = await startBerthProcess({ args: ["--no-local-agent"] });
    // Its data dir is kept at its stop: the pool-off agent takes it over (and removes it).
    const agent = await startAgentProcess({
      ...BerthSide.#agentOptions(berth, berth.joinToken),
      keepDataDir: true,
    });
    // Kept-alive connections, as a real client's (the test harness's clients open one per request).
    return new BerthSide(
      berth,
      agent,
      new ECSClient({ ...berth.clientConfig, requestHandler: {} }),
    );
  }

  // Room for every concurrent task: the benchmark measures starts, not placement refusals.
  static #agentOptions(berth: BerthProcess, token?: string, under?: string[]) {
    return {
      ...berth.join,
      ...(token === undefined ? {} : { token }),
      ...(under === undefined ? {} : { under }),
      cpu: 64 * 1024,
      memory: 256 * 1024,
    };
  }

  /**
   * The same host's agent again, on the same data dir (its images stay pulled), with the sandbox
   * pool off (BERTH_SANDBOX_POOL=0): the "pool off" rows. Once: this agent removes the data dir.
   */
  async restartAgentWithoutPool(): Promise<void> {
    const dataDir = this.agent.dataDir;
    await this.agent.stop();
    this.agent = await startAgentProcess({
      ...BerthSide.#agentOptions(this.berth, undefined, ["env", "BERTH_SANDBOX_POOL=0"]),
      dataDir,
    });
  }

  async definition(family: string, image: string): Promise<string> {
    const { taskDefinition } = await this.ecs.send(
      new RegisterTaskDefinitionCommand({
        family,
        requiresCompatibilities: ["FARGATE"],
        networkMode: "awsvpc",
        cpu: "256",
        memory: "512",
        containerDefinitions: [{ name: "app", image, essential: true, command: ["true"] }],
      }),
    );
    return taskDefinition?.taskDefinitionArn ?? "";
  }

  async run(definition: string): Promise<string> {
    // A clientToken makes a retry after a dropped connection the same task.
    const clientToken = randomBytes(16).toString("hex");
    const { tasks = [], failures = [] } = await retried(() =>
      this.ecs.send(new RunTaskCommand({ taskDefinition: definition, clientToken })),
    );
    if (tasks[0]?.taskArn === undefined)
      throw new Error(`RunTask failed: ${JSON.stringify(failures)}`);
    return tasks[0].taskArn;
  }

  /** Waits until DescribeTasks says RUNNING (or the task already ran and stopped). */
  async started(taskArn: string, pollMs = 10): Promise<Task> {
    for (;;) {
      const { tasks = [] } = await retried(() =>
        this.ecs.send(new DescribeTasksCommand({ tasks: [taskArn] })),
      );
      const task = tasks[0];
      if (task?.startedAt !== undefined) return task;
      if (task?.lastStatus === "STOPPED")
        throw new Error(`task failed: ${task.stoppedReason ?? ""}`);
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  }

  readonly #waiting = new Map<string, { resolve: () => void; reject: (e: Error) => void }>();
  #polling = false;

  /**
   * Waits until DescribeTasks says RUNNING, as `started` does, but shared: one poller asks about
   * every waiting task (up to 100 a call, as DescribeTasks takes) every `pollMs`, the way a
   * client running many tasks at once would, instead of a DescribeTasks per caller per poll.
   */
  untilStarted(taskArn: string, pollMs = 25): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#waiting.set(taskArn, { resolve, reject });
      if (this.#polling) return;
      this.#polling = true;
      void (async () => {
        try {
          while (this.#waiting.size > 0) {
            const batch = [...this.#waiting.keys()].slice(0, 100);
            const { tasks = [] } = await retried(() =>
              this.ecs.send(new DescribeTasksCommand({ tasks: batch })),
            );
            for (const task of tasks) {
              const waiter = this.#waiting.get(task.taskArn ?? "");
              if (waiter === undefined) continue;
              if (task.startedAt !== undefined) waiter.resolve();
              else if (task.lastStatus === "STOPPED")
                waiter.reject(new Error(`task failed: ${task.stoppedReason ?? ""}`));
              else continue;
              this.#waiting.delete(task.taskArn ?? "");
            }
            await new Promise((resolve) => setTimeout(resolve, pollMs));
          }
        } catch (error) {
          for (const waiter of this.#waiting.values()) waiter.reject(error as Error);
          this.#waiting.clear();
        } finally {
          this.#polling = false;
        }
      })();
    });
  }

  /** One task, timed from the client's side and by its own timestamps. */
  async launch(definition: string): Promise<Launch> {
    const sent = Date.now();
    const taskArn = await this.run(definition);
    const answered = Date.now();
    const task = await this.started(taskArn, 5);
    const seen = Date.now();
    const at = (date: Date | undefined): number => (date as Date).getTime();
    return {
      client: seen - sent,
      task: at(task.startedAt) - at(task.createdAt),
      runTask: answered - sent,
      dispatch: at(task.pullStartedAt) - at(task.createdAt),
      host: at(task.startedAt) - at(task.pullStartedAt),
      report: seen - at(task.startedAt),
    };
  }

  async latency(definition: string): Promise<number> {
    return (await this.launch(definition)).task;
  }

  async stop(): Promise<void> {
    this.ecs.destroy();
    await this.agent.stop();
    await this.berth.stop();
  }
}

function row(
  name: string,
  berth: number,
  floor: number | undefined,
  podman: number | undefined,
  unit = "ms",
): string {
  const f = (v: number | undefined): string =>
    v === undefined ? "n/a" : `${v.toFixed(1)} ${unit}`;
  // Berth over the peer: for latencies under 1 is faster, for rates over 1 is faster.
  const ratio = (peer: number | undefined): string =>
    (peer === undefined ? "n/a" : `x${(berth / peer).toFixed(2)}`).padStart(8);
  return `${name.padEnd(50)} ${f(berth).padStart(14)} ${f(floor).padStart(14)} ${f(podman).padStart(14)} ${ratio(floor)} ${ratio(podman)}`;
}

/** Runs `once` from `callers` callers again and again for `seconds`; returns starts per second. */
async function sustained(
  callers: number,
  seconds: number,
  once: (i: number) => Promise<unknown>,
): Promise<number> {
  const start = process.hrtime.bigint();
  const end = Date.now() + seconds * 1000;
  let index = 0;
  let done = 0;
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (Date.now() < end) {
        await once(index++);
        done++;
      }
    }),
  );
  return (done * 1e9) / Number(process.hrtime.bigint() - start);
}

const load = (): string =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");

async function main(): Promise<void> {
  const loadBefore = load();
  process.stderr.write(`bench/launch: load average (1, 5, 15 min) at start ${loadBefore}\n`);
  const side = await BerthSide.start();
  const bundle = runcBundle();
  const own = berthBundle(bundle);
  // Each row is printed as soon as it is measured (a long run stopped midway keeps its rows).
  const lines = {
    push: (line: string): void => void process.stderr.write(`${line}\n`),
  };
  lines.push(
    `${"".padEnd(50)} ${"Berth".padStart(14)} ${"runc (floor)".padStart(14)} ${"podman".padStart(14)} ${"/floor".padStart(8)} ${"/podman".padStart(8)}`,
  );
  const quantiles = [
    ["p50", 0.5],
    ["p90", 0.9],
    ["p99", 0.99],
  ] as const;
  try {
    const warm = await pushBusyboxImage(side.berth, "bench", { tag: "warm" });
    const definition = await side.definition("bench-warm", warm.uri);
    await side.latency(definition); // pulls the image: the cache is warm from here on
    podmanLogin(new URL(side.berth.endpoint).host, await registryCreds(side.berth));
    spawnSync("podman", [...PODMAN, "pull", "--tls-verify=false", warm.uri], { stdio: "ignore" });

    // Warm latency, one task after another (each runs /bin/true and stops by itself).
    const launches: Launch[] = [];
    for (let i = 0; i < TASKS; i++) launches.push(await side.launch(definition));
    const runcWarm: number[] = [];
    for (let i = 0; i < PEER_RUNS; i++)
      runcWarm.push(
        timeCommand("runc", ["--root", bundle.root, "run", "--bundle", bundle.dir, `bench-${i}`]),
      );
    const ownWarm: number[] = [];
    for (let i = 0; i < PEER_RUNS; i++) {
      const args = own.run(`bench-own-${i}`);
      ownWarm.push(timeCommand("runc", args));
    }
    const podmanWarm: number[] = [];
    for (let i = 0; i < PEER_RUNS; i++)
      podmanWarm.push(timeCommand("podman", [...PODMAN, ...PODMAN_RUN, warm.uri, "true"]));
    podmanCleanup();
    const warmRows = (launched: Launch[], pool: string): void => {
      for (const [source, pick] of [
        ["client", (l: Launch) => l.client],
        ["task's own", (l: Launch) => l.task],
      ] as const)
        for (const [label, q] of quantiles)
          lines.push(
            row(
              `warm${pool} RunTask->RUNNING ${label}, ${source}`,
              quantile(launched.map(pick), q),
              quantile(runcWarm, q),
              quantile(podmanWarm, q),
            ),
          );
      for (const [label, pick] of [
        ["  RunTask call (write, placement)", (l: Launch) => l.runTask],
        ["  dispatch (createdAt->pullStartedAt)", (l: Launch) => l.dispatch],
        ["  host (pullStartedAt->startedAt)", (l: Launch) => l.host],
        ["  report (startedAt->RUNNING seen)", (l: Launch) => l.report],
      ] as const)
        lines.push(row(`${label} p50`, quantile(launched.map(pick), 0.5), undefined, undefined));
    };
    warmRows(launches, "");
    lines.push(
      row(
        "runc run of Berth's own bundle, p50",
        quantile(ownWarm, 0.5),
        quantile(runcWarm, 0.5),
        undefined,
      ),
    );
    lines.push(
      `${"  warm RunTask->RUNNING client p50 / that".padEnd(50)} ${`x${(
        quantile(
          launches.map((l) => l.client),
          0.5,
        ) / quantile(ownWarm, 0.5)
      ).toFixed(2)}`.padStart(14)}`,
    );

    // Sustained: CONCURRENCY callers, each running a task and waiting for it to run (one shared
    // poller every 25 ms: 20 callers each polling would be a large part of the load on 2 cores).
    const berthRate = await sustained(CONCURRENCY, SECONDS, () =>
      side.run(definition).then((arn) => side.untilStarted(arn, 25)),
    );
    const runcRate = await sustained(CONCURRENCY, PEER_SECONDS, (i) =>
      runCommand("runc", ["--root", bundle.root, "run", "--bundle", bundle.dir, `rate-${i}`]),
    );
    const podmanRate = await sustained(CONCURRENCY, PEER_SECONDS, () =>
      runCommand("podman", [...PODMAN, ...PODMAN_RUN, warm.uri, "true"]),
    );
    podmanCleanup();
    lines.push(
      row(
        `tasks started/s, ${CONCURRENCY} callers, sustained`,
        berthRate,
        runcRate,
        podmanRate,
        "tasks/s",
      ),
    );

    // Cold cache: new random content each run, so nothing is cached on either side.
    // Five runs: the p50 of three moved by 50 ms from one run of the benchmark to the next.
    const cold: Array<readonly [string, number, number]> = [["cold 10 MiB image", 10 * MiB, 5]];
    if (process.env.BENCH_COLD_BIG === "1") cold.push(["cold 200 MiB image", 200 * MiB, 2]);
    for (const [label, size, runs] of cold) {
      const berthCold: number[] = [];
      const podmanCold: number[] = [];
      for (let i = 0; i < runs; i++) {
        const files = { "data/blob": randomBytes(size).toString("latin1") };
        const image = await pushBusyboxImage(side.berth, "bench", {
          tag: `cold-${size}-${i}`,
          files,
        });
        berthCold.push(
          (await side.launch(await side.definition(`bench-cold-${i}`, image.uri))).client,
        );
        const other = await pushBusyboxImage(side.berth, "bench", {
          tag: `podman-${size}-${i}`,
          files: { "data/blob": randomBytes(size).toString("latin1") },
        });
        podmanCold.push(timeCommand("podman", [...PODMAN, ...PODMAN_RUN, other.uri, "true"]));
        podmanCleanup();
        spawnSync("podman", [...PODMAN, "rmi", "-f", other.uri], { stdio: "ignore" });
      }
      lines.push(
        row(
          `${label} RunTask->RUNNING p50, client`,
          quantile(berthCold, 0.5),
          undefined,
          quantile(podmanCold, 0.5),
        ),
      );
    }

    // The same warm run with the sandbox pool off: every launch makes its own network namespace,
    // address and task storage (issue 18's "without a pool" row). Last, so the rows above had the
    // pool on; the restarted agent keeps the pulled image.
    await side.restartAgentWithoutPool();
    await side.latency(definition);
    const unpooled: Launch[] = [];
    for (let i = 0; i < TASKS; i++) unpooled.push(await side.launch(definition));
    warmRows(unpooled, ", pool off,");
  } finally {
    podmanCleanup();
    own.remove();
    rmSync(bundle.dir, { recursive: true, force: true });
    await side.stop();
  }
  process.stdout.write(
    `\nbench/launch (${TASKS} warm Berth tasks, ${PEER_RUNS} peer runs; sustained ${SECONDS} s, peers ${PEER_SECONDS} s; rows above)\n` +
      `load average (1, 5, 15 min) before: ${loadBefore}, after: ${load()}\n`,
  );
}

await main();
