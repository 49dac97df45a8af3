/**
 * A whole Berth for a test, started and torn down in one call, good enough to ship to users for
 * their own integration tests. `startBerthProcess` runs the real `berth up` binary (what e2e
 * tests use, and what kill -9 tests need); `startBerthInProcess` runs it inside the test's own
 * process for fast, hermetic tests. Both pick a free port and a fresh data directory.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Credentials } from "../aws/index.js";
import { purgeHost, releaseClaimsOf } from "../agent/index.js";
import { silentLogger, type Clock } from "../core/index.js";
import { startBerth, type RunningBerth } from "../server/index.js";

export interface TestBerth {
  endpoint: string;
  dataDir: string;
  credentials: Credentials;
  region: string;
  /**
   * What an AWS SDK v3 client needs: `new ECSClient(berth.clientConfig)`. One attempt (a test
   * sees the first error), and no kept-alive connections (TEST_CONNECTIONS).
   */
  clientConfig: {
    endpoint: string;
    region: string;
    credentials: Credentials;
    maxAttempts: number;
    requestHandler: typeof TEST_CONNECTIONS;
  };
  /** Environment for the AWS CLI and other child processes. */
  awsEnv: NodeJS.ProcessEnv;
  /**
   * Environment for the `berth` CLI: this Berth's credentials. The endpoint stays the caller's
   * to give (`--endpoint`, or BERTH_ENDPOINT added), so a test of the flag can still fail.
   */
  berthEnv: NodeJS.ProcessEnv;
  stop(): Promise<void>;
}

export interface BerthProcess extends TestBerth {
  process: ChildProcess;
  /** A join token for `berth agent`, as the banner printed it. */
  joinToken: string;
  /** Where agents join and the CA they pin, from the banner's join line. */
  join: { server: string; caCertHash: string };
  /** Everything the process printed so far. */
  output(): string;
  /** SIGKILL, no cleanup: what a crash looks like. */
  kill(): Promise<void>;
  /** Start a new `berth up` on the same data dir (and port). */
  restart(): Promise<BerthProcess>;
}

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const BERTH_BIN = join(ROOT, "bin", "berth.js");
const REGION = "us-east-1";

export function tempDataDir(prefix = "berth-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/**
 * Deletes a test's data dir, and first the network claims it held on this machine (its
 * server's blocks, its agent's subnets: under /run, they would outlast it).
 */
export function removeDataDir(dataDir: string): void {
  releaseClaimsOf(dataDir);
  rmSync(dataDir, { recursive: true, force: true });
}

/**
 * A new connection per request for the tests' SDK clients. With one attempt and kept-alive
 * connections, a client that reused a connection just as the server closed it for being idle
 * (its keepAliveTimeout, 65 s) failed with "socket hang up": a loaded run of `autoscaling` hit
 * it. A retry would hide real errors; a fresh connection on loopback costs nothing. Options, not
 * a handler: each client makes its own (a handler is destroyed with its client).
 */
const TEST_CONNECTIONS = {
  httpAgent: { keepAlive: false },
  httpsAgent: { keepAlive: false },
} as const;

function describeBerth(endpoint: string, dataDir: string, credentials: Credentials) {
  return {
    endpoint,
    dataDir,
    credentials,
    region: REGION,
    clientConfig: {
      endpoint,
      region: REGION,
      credentials,
      maxAttempts: 1,
      requestHandler: TEST_CONNECTIONS,
    },
    awsEnv: {
      ...process.env,
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      AWS_DEFAULT_REGION: REGION,
      AWS_PAGER: "",
      AWS_EC2_METADATA_DISABLED: "true",
    },
    berthEnv: {
      ...process.env,
      BERTH_ACCESS_KEY_ID: credentials.accessKeyId,
      BERTH_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    },
  };
}

export async function startBerthInProcess(
  options: { dataDir?: string; elbTargetCidrs?: string[]; clock?: Clock } = {},
): Promise<TestBerth & { berth: RunningBerth }> {
  const dataDir = options.dataDir ?? tempDataDir();
  const owned = options.dataDir === undefined;
  const berth = await startBerth({
    host: "127.0.0.1",
    port: 0,
    dataDir,
    identity: { accountId: "000000000000", region: REGION },
    env: {},
    log: silentLogger,
    ...(options.elbTargetCidrs === undefined ? {} : { elbTargetCidrs: options.elbTargetCidrs }),
    ...(options.clock === undefined ? {} : { clock: options.clock }),
  });
  return {
    ...describeBerth(berth.endpoint, dataDir, berth.credentials),
    berth,
    async stop() {
      await berth.close();
      if (!owned) return;
      await purgeHost(join(dataDir, "agent"));
      removeDataDir(dataDir);
    },
  };
}

export interface ProcessOptions {
  dataDir?: string;
  port?: number;
  args?: string[];
  env?: NodeJS.ProcessEnv;
  /** Keep the data dir after stop (the caller owns it). */
  keepDataDir?: boolean;
  /** Options for node itself (`--cpu-prof`, which NODE_OPTIONS may not carry). */
  nodeArgs?: string[];
}

/** Starts `berth up` as a child process and resolves once it prints its endpoint. */
export async function startBerthProcess(options: ProcessOptions = {}): Promise<BerthProcess> {
  const dataDir = options.dataDir ?? tempDataDir();
  const keep = options.keepDataDir ?? options.dataDir !== undefined;
  const child = spawn(
    process.execPath,
    [
      ...(options.nodeArgs ?? []),
      BERTH_BIN,
      "up",
      "--port",
      String(options.port ?? 0),
      "--data-dir",
      dataDir,
      ...(options.args ?? []),
    ],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...options.env } },
  );
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolveExit) => child.once("exit", () => resolveExit()));

  const endpoint = await new Promise<string>((resolveUp, reject) => {
    // A Berth that did not come up is not left running behind the failed test: it is asked to
    // stop (so it removes what it made), then killed.
    let late = false;
    const timer = setTimeout(() => {
      late = true;
      child.kill("SIGTERM");
      const killer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      void exited.then(() => {
        clearTimeout(killer);
        if (!keep) removeDataDir(dataDir);
        reject(new Error(`berth up did not start in 60 s:\n${output}`));
      });
    }, 60_000);
    const check = (): void => {
      const match = /Berth is up at (http:\/\/\S+)/.exec(output);
      if (match?.[1] !== undefined) {
        clearTimeout(timer);
        resolveUp(match[1]);
      }
    };
    child.stdout.on("data", check);
    child.once("exit", (code) => {
      clearTimeout(timer);
      if (late) return;
      reject(new Error(`berth up exited with ${String(code)} before it was up:\n${output}`));
    });
  });
  const accessKeyId = /access key id\s+(\S+)/.exec(output)?.[1] ?? "";
  const secretAccessKey = /secret key\s+(\S+)/.exec(output)?.[1] ?? "";
  const port = Number(new URL(endpoint).port);
  // Tasks outlive `berth up` by design; a test's Berth takes its containers with it.
  const cleanup = async (): Promise<void> => {
    if (keep) return;
    await purgeHost(join(dataDir, "agent"));
    removeDataDir(dataDir);
  };
  const self: BerthProcess = {
    ...describeBerth(endpoint, dataDir, { accessKeyId, secretAccessKey }),
    process: child,
    joinToken: /--token (\S+)/.exec(output)?.[1] ?? "",
    join: {
      server: /berth agent --server (\S+)/.exec(output)?.[1] ?? "",
      caCertHash: /--ca-cert-hash (\S+)/.exec(output)?.[1] ?? "",
    },
    output: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        await exited;
      }
      await cleanup();
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGKILL");
        await exited;
      }
    },
    async restart() {
      await self.kill();
      return startBerthProcess({ ...options, dataDir, port, keepDataDir: keep });
    },
  };
  return self;
}

export interface AgentProcess {
  process: ChildProcess;
  dataDir: string;
  output(): string;
  /** SIGKILL: what a crashed agent looks like (its containers keep running). */
  kill(): Promise<void>;
  /** SIGTERM, then removes its containers and data dir (unless kept). */
  stop(): Promise<void>;
}

export interface AgentProcessOptions {
  /** The join line's https:// URL (`berth.join.server`). */
  server: string;
  /** The join line's CA pin (`berth.join.caCertHash`); a joined data dir has kept its CA. */
  caCertHash?: string;
  /** Needed to join; a data dir whose host has joined reconnects without one. */
  token?: string;
  dataDir?: string;
  cpu?: number;
  memory?: number;
  availabilityZone?: string;
  spot?: boolean;
  keepDataDir?: boolean;
  /** A command the agent runs under (e.g. `nsenter --net=...`): a test host's namespaces. */
  under?: string[];
}

function spawnAgent(options: AgentProcessOptions, dataDir: string) {
  const args = [BERTH_BIN, "agent", "--server", options.server, "--data-dir", dataDir];
  if (options.token !== undefined) args.push("--token", options.token);
  if (options.caCertHash !== undefined) args.push("--ca-cert-hash", options.caCertHash);
  if (options.cpu !== undefined) args.push("--cpu", String(options.cpu));
  if (options.memory !== undefined) args.push("--memory", String(options.memory));
  if (options.availabilityZone !== undefined)
    args.push("--availability-zone", options.availabilityZone);
  if (options.spot === true) args.push("--spot");
  const [file, ...rest] = [...(options.under ?? []), process.execPath, ...args];
  const child = spawn(file ?? process.execPath, rest, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolveExit) =>
    child.once("exit", (code) => resolveExit(code)),
  );
  const joined = (): boolean => output.includes("agent connected to the control plane");
  return { child, output: () => output, exited, joined };
}

/**
 * Runs `berth agent` expecting the server (or the agent itself) to refuse it: resolves with the
 * one line it printed last once it exits non-zero; rejects if it joins or hangs for 30 s.
 */
export async function agentRefusal(options: AgentProcessOptions): Promise<string> {
  const dataDir = options.dataDir ?? tempDataDir("berth-agent-");
  const agent = spawnAgent(options, dataDir);
  const timer = setTimeout(() => agent.child.kill("SIGKILL"), 30_000);
  try {
    const code = await agent.exited;
    if (code === 0 || code === null || agent.joined())
      throw new Error(`berth agent was not refused (exit ${String(code)}):\n${agent.output()}`);
    return agent.output().trimEnd().split("\n").pop() ?? "";
  } finally {
    clearTimeout(timer);
    if (options.dataDir === undefined) {
      await purgeHost(dataDir);
      removeDataDir(dataDir);
    }
  }
}

/** Starts `berth agent` as a child process and resolves once it has joined. */
export async function startAgentProcess(options: AgentProcessOptions): Promise<AgentProcess> {
  const dataDir = options.dataDir ?? tempDataDir("berth-agent-");
  const { child, output, exited } = spawnAgent(options, dataDir);
  await new Promise<void>((resolveUp, reject) => {
    const timer = setTimeout(() => {
      // An agent that did not join is not left running behind the failed test.
      child.kill("SIGKILL");
      reject(new Error(`berth agent did not join in 30 s:\n${output()}`));
    }, 30_000);
    const check = (): void => {
      if (!output().includes("agent connected to the control plane")) return;
      clearTimeout(timer);
      resolveUp();
    };
    child.stdout.on("data", check);
    child.stderr.on("data", check);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`berth agent exited with ${String(code)}:\n${output()}`));
    });
  });
  const alive = (): boolean => child.exitCode === null && child.signalCode === null;
  return {
    process: child,
    dataDir,
    output,
    async kill() {
      if (alive()) {
        child.kill("SIGKILL");
        await exited;
      }
    },
    async stop() {
      if (alive()) {
        child.kill("SIGTERM");
        await exited;
      }
      if (options.keepDataDir) return;
      await purgeHost(dataDir);
      removeDataDir(dataDir);
    },
  };
}
