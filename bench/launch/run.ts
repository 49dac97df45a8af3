/**
 * `npm run bench:launch`: RunTask -> RUNNING latency and throughput of a started Berth, beside
 * two peers measured in the same run on the same image:
 *   - the floor: bare `runc run` of a prepared bundle of the same busybox rootfs (/bin/true);
 *   - podman: `podman run -d` of the same image (what a developer would use instead).
 * Rows: warm image cache (p50/p90/p99 over BENCH_TASKS tasks, default 100), tasks started per
 * second with 20 concurrent callers, and cold cache with a ~10 MiB and a ~200 MiB image.
 * Berth's latency is the task's own `startedAt - createdAt` (RunTask accepted -> containers
 * started), read back from DescribeTasks; the peers' is the wall time of their command.
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
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

const TASKS = Number(process.env.BENCH_TASKS ?? 100);
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
];

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

function podmanCleanup(): void {
  spawnSync("podman", [...PODMAN, "rm", "-f", "--all"], { stdio: "ignore" });
}

class BerthSide {
  private constructor(
    readonly berth: BerthProcess,
    readonly agent: AgentProcess,
    readonly ecs: ECSClient,
  ) {}

  static async start(): Promise<BerthSide> {
    const berth = await startBerthProcess({ args: ["--no-local-agent"] });
    // Room for every concurrent task: the benchmark measures starts, not placement refusals.
    const agent = await startAgentProcess({
      ...berth.join,
      token: berth.joinToken,
      cpu: 64 * 1024,
      memory: 256 * 1024,
    });
    return new BerthSide(berth, agent, new ECSClient(berth.clientConfig));
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
    const { tasks = [], failures = [] } = await this.ecs.send(
      new RunTaskCommand({ taskDefinition: definition }),
    );
    if (tasks[0]?.taskArn === undefined)
      throw new Error(`RunTask failed: ${JSON.stringify(failures)}`);
    return tasks[0].taskArn;
  }

  /** Waits for the task to have started and returns it. */
  async started(taskArn: string): Promise<Task> {
    for (;;) {
      const { tasks = [] } = await this.ecs.send(new DescribeTasksCommand({ tasks: [taskArn] }));
      const task = tasks[0];
      if (task?.startedAt !== undefined) return task;
      if (task?.lastStatus === "STOPPED")
        throw new Error(`task failed: ${task.stoppedReason ?? ""}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  async latency(definition: string): Promise<number> {
    const task = await this.started(await this.run(definition));
    return (task.startedAt as Date).getTime() - (task.createdAt as Date).getTime();
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
  podman: number,
  unit = "ms",
): string {
  const f = (v: number | undefined): string =>
    v === undefined ? "n/a" : `${v.toFixed(1)} ${unit}`;
  // Ratios over 1 mean Berth is faster (for rates: Berth's rate over the peer's).
  const faster = (peer: number | undefined): string =>
    peer === undefined
      ? "   n/a"
      : (unit === "tasks/s" ? berth / peer : peer / berth).toFixed(2).padStart(6);
  return `${name.padEnd(34)} ${f(berth).padStart(14)} ${f(floor).padStart(14)} ${f(podman).padStart(14)}   ${faster(floor)}   ${faster(podman)}`;
}

async function main(): Promise<void> {
  const side = await BerthSide.start();
  const bundle = runcBundle();
  const lines: string[] = [];
  try {
    const warm = await pushBusyboxImage(side.berth, "bench", { tag: "warm" });
    const definition = await side.definition("bench-warm", warm.uri);
    await side.latency(definition); // pulls the image: the cache is warm from here on
    podmanLogin(new URL(side.berth.endpoint).host, await registryCreds(side.berth));
    spawnSync("podman", [...PODMAN, "pull", "--tls-verify=false", warm.uri], { stdio: "ignore" });

    // Warm latency.
    const berthWarm: number[] = [];
    for (let i = 0; i < TASKS; i++) berthWarm.push(await side.latency(definition));
    const runcWarm: number[] = [];
    for (let i = 0; i < PEER_RUNS; i++)
      runcWarm.push(
        timeCommand("runc", ["--root", bundle.root, "run", "--bundle", bundle.dir, `bench-${i}`]),
      );
    const podmanWarm: number[] = [];
    for (let i = 0; i < PEER_RUNS; i++)
      podmanWarm.push(timeCommand("podman", [...PODMAN, ...PODMAN_RUN, warm.uri, "true"]));
    podmanCleanup();
    for (const [label, q] of [
      ["p50", 0.5],
      ["p90", 0.9],
      ["p99", 0.99],
    ] as const)
      lines.push(
        row(
          `warm RunTask->RUNNING ${label}`,
          quantile(berthWarm, q),
          quantile(runcWarm, q),
          quantile(podmanWarm, q),
        ),
      );

    // Throughput: CONCURRENCY callers, TASKS tasks in all.
    let next = 0;
    const startedTasks: Task[] = [];
    const callers = Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < TASKS) startedTasks.push(await side.started(await side.run(definition)));
    });
    await Promise.all(callers);
    const first = Math.min(...startedTasks.map((t) => (t.createdAt as Date).getTime()));
    const last = Math.max(...startedTasks.map((t) => (t.startedAt as Date).getTime()));
    const berthRate = (startedTasks.length * 1000) / (last - first);
    const peerRate = async (make: (i: number) => [string, string[]]): Promise<number> => {
      let index = 0;
      const start = process.hrtime.bigint();
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (index < PEER_RUNS * 2) {
            const [command, args] = make(index++);
            await runCommand(command, args);
          }
        }),
      );
      return (PEER_RUNS * 2 * 1e9) / Number(process.hrtime.bigint() - start);
    };
    const runcRate = await peerRate((i) => [
      "runc",
      ["--root", bundle.root, "run", "--bundle", bundle.dir, `rate-${i}`],
    ]);
    const podmanRate = await peerRate(() => [
      "podman",
      [...PODMAN, ...PODMAN_RUN, warm.uri, "true"],
    ]);
    podmanCleanup();
    lines.push(
      row(`tasks started/s, ${CONCURRENCY} callers`, berthRate, runcRate, podmanRate, "tasks/s"),
    );

    // Cold cache: new random content each run, so nothing is cached on either side.
    for (const [label, size, runs] of [
      ["cold 10 MiB image", 10 * MiB, 3],
      ["cold 200 MiB image", 200 * MiB, 2],
    ] as const) {
      const berthCold: number[] = [];
      const podmanCold: number[] = [];
      for (let i = 0; i < runs; i++) {
        const files = { "data/blob": randomBytes(size).toString("latin1") };
        const image = await pushBusyboxImage(side.berth, "bench", {
          tag: `cold-${size}-${i}`,
          files,
        });
        berthCold.push(await side.latency(await side.definition(`bench-cold-${i}`, image.uri)));
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
          `${label} RunTask->RUNNING p50`,
          quantile(berthCold, 0.5),
          undefined,
          quantile(podmanCold, 0.5),
        ),
      );
    }
  } finally {
    podmanCleanup();
    rmSync(bundle.dir, { recursive: true, force: true });
    await side.stop();
  }
  process.stdout.write(
    `\nbench/launch (${TASKS} Berth tasks, ${PEER_RUNS} peer runs; ratio > 1: Berth faster)\n` +
      `${"".padEnd(34)} ${"Berth".padStart(14)} ${"runc (floor)".padStart(14)} ${"podman".padStart(14)}   ${"floor".padStart(6)}   ${"podman".padStart(6)}\n` +
      lines.join("\n") +
      "\n",
  );
}

await main();
