/**
 * Several machines on one: a "datacenter" bridge the test makes, and test hosts, each a network
 * namespace with a veth into that bridge, its own mount namespace with its own /run (so subnet
 * claims and locks are the host's alone), its own data dir, and a real `berth agent` process in
 * them. The agent is started with `nsenter --net=/var/run/netns/NAME` (not `ip netns exec`,
 * which remounts /sys and hides the cgroup hierarchies). Addresses stay inside 100.64.0.0/10.
 * `close()` removes every process, namespace and link the datacenter made.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { join as joinPath } from "node:path";
import { runCommand } from "../agent/index.js";
import { BERTH_BIN, startAgentProcess, tempDataDir, type AgentProcess } from "./harness.js";

/** The datacenter links live in 100.127.X.0/24, the top of the shared address space. */
const DATACENTER_BASE = "100.127";

export interface JoinLine {
  server: string;
  caCertHash: string;
  token: string;
}

export interface TestHostOptions {
  cpu?: number;
  memory?: number;
  availabilityZone?: string;
}

export interface TestHost {
  name: string;
  /** The host's address on the datacenter bridge. */
  address: string;
  dataDir: string;
  /** `/var/run/netns/NAME`. */
  netnsPath: string;
  /** The running agent (replaced by `startAgent`). */
  agent: AgentProcess;
  /** The host's id, once its agent has joined. */
  hostId: string;
  /** Starts its agent again (after `kill`), with its kept credential and CA. */
  startAgent(): Promise<AgentProcess>;
  /** kill -9 of its agent: what a crashed machine looks like to the server. */
  kill(): Promise<void>;
  /** Takes its link down: the machine drops off the network. */
  cut(): Promise<void>;
  /** Runs a command inside the host (its network and mounts). */
  exec(file: string, args: string[]): Promise<{ stdout: string; stderr: string; code: number }>;
}

/** Where a task runs: its test host and its network namespace's path there. */
export interface TaskPlace {
  host: TestHost;
  netns: string;
}

/** The test host running the task with `address`, and the task's network namespace there. */
export async function findTaskNetns(hosts: TestHost[], address: string): Promise<TaskPlace> {
  for (const host of hosts) {
    const dir = joinPath(host.dataDir, "run", "netns");
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names) {
      const netns = joinPath(dir, name);
      const shown = await host.exec("nsenter", [`--net=${netns}`, "ip", "-4", "-o", "addr"]);
      if (shown.stdout.includes(` ${address}/`)) return { host, netns };
    }
  }
  throw new Error(`no test host holds ${address}`);
}

async function ip(args: string[], allowFailure = false): Promise<void> {
  await runCommand("ip", args, { allowFailure });
}

/** A free 100.127.X.0/24: no route of this machine covers it and no bridge uses its name. */
export async function freeDatacenterOctet(): Promise<number> {
  const routes = (await runCommand("ip", ["-4", "route", "show"])).stdout;
  for (let attempt = 0; attempt < 64; attempt++) {
    const octet = 1 + ((randomBytes(1)[0] ?? 0) % 254);
    if (!routes.includes(`${DATACENTER_BASE}.${octet}.`)) return octet;
  }
  throw new Error("no free datacenter subnet in 100.127.0.0/16");
}

/**
 * One bridge and the test hosts on it. Every name it makes carries its random tag (`bdc<tag>`),
 * so two tests never touch each other's, and a crashed test's leftovers are recognisable.
 */
export class Datacenter {
  readonly #hosts: Array<{
    host: TestHost;
    holder: ChildProcess;
    veth: string;
    netns: string;
  }> = [];

  private constructor(
    readonly tag: string,
    readonly bridge: string,
    /** The bridge's own address: where the server listens for the test hosts. */
    readonly gateway: string,
    readonly octet: number,
  ) {}

  /** Makes the bridge (up, with the gateway address). */
  static async create(): Promise<Datacenter> {
    const tag = randomBytes(3).toString("hex");
    const octet = await freeDatacenterOctet();
    const bridge = `bdc${tag}`;
    const gateway = `${DATACENTER_BASE}.${octet}.1`;
    await ip(["link", "add", bridge, "type", "bridge"]);
    try {
      await ip(["addr", "add", `${gateway}/24`, "dev", bridge]);
      await ip(["link", "set", bridge, "up"]);
    } catch (error) {
      await ip(["link", "del", bridge], true);
      throw error;
    }
    return new Datacenter(tag, bridge, gateway, octet);
  }

  get hosts(): TestHost[] {
    return this.#hosts.map((h) => h.host);
  }

  /** A new machine on the bridge, its agent joined with `join`. */
  async addHost(join: JoinLine, options: TestHostOptions = {}): Promise<TestHost> {
    const index = this.#hosts.length + 1;
    const name = `bdc${this.tag}-${index}`;
    const netnsPath = `/var/run/netns/${name}`;
    const veth = `vdc${this.tag}${index}`;
    const address = `${DATACENTER_BASE}.${this.octet}.${10 + index}`;
    const dataDir = tempDataDir(`berth-host-${index}-`);
    await ip(["netns", "add", name]);
    let holder: ChildProcess | undefined;
    try {
      await ip(["link", "add", veth, "type", "veth", "peer", "name", `${veth}p`]);
      await ip(["link", "set", `${veth}p`, "netns", name]);
      await ip(["link", "set", veth, "master", this.bridge]);
      await ip(["link", "set", veth, "up"]);
      const inside = (args: string[]): Promise<void> => ip(["-n", name, ...args]);
      await inside(["link", "set", `${veth}p`, "name", "eth0"]);
      await inside(["addr", "add", `${address}/24`, "dev", "eth0"]);
      await inside(["link", "set", "lo", "up"]);
      await inside(["link", "set", "eth0", "up"]);
      await inside(["route", "add", "default", "via", this.gateway]);
      holder = await startHolder(netnsPath);
    } catch (error) {
      holder?.kill("SIGKILL");
      await ip(["link", "del", veth], true);
      await ip(["netns", "del", name], true);
      rmSync(dataDir, { recursive: true, force: true });
      throw error;
    }
    const mountNs = `/proc/${String(holder.pid)}/ns/mnt`;
    const under = ["nsenter", `--net=${netnsPath}`, `--mount=${mountNs}`, "--"];
    const start = (token?: string): Promise<AgentProcess> =>
      startAgentProcess({
        server: join.server,
        ...(token === undefined ? {} : { token, caCertHash: join.caCertHash }),
        dataDir,
        keepDataDir: true,
        under,
        ...(options.cpu === undefined ? {} : { cpu: options.cpu }),
        ...(options.memory === undefined ? {} : { memory: options.memory }),
        ...(options.availabilityZone === undefined
          ? {}
          : { availabilityZone: options.availabilityZone }),
      });
    const host: TestHost = {
      name,
      address,
      dataDir,
      netnsPath,
      agent: undefined as unknown as AgentProcess,
      hostId: "",
      async startAgent() {
        host.agent = await start();
        return host.agent;
      },
      kill: () => host.agent.kill(),
      cut: () => ip(["link", "set", veth, "down"]),
      exec: async (file, args) => {
        const result = await runCommand("nsenter", [...under.slice(1), file, ...args], {
          allowFailure: true,
        });
        return { stdout: result.stdout, stderr: result.stderr, code: result.code };
      },
    };
    this.#hosts.push({ host, holder, veth, netns: name });
    host.agent = await start(join.token);
    host.hostId = readFileSync(joinPath(dataDir, "host-id"), "utf8").trim();
    return host;
  }

  /**
   * Stops every agent, cleans each host's tasks from inside it (`berth host clean`), and removes
   * the holders, namespaces, links, bridge and data dirs.
   */
  async close(): Promise<void> {
    for (const { host, holder, veth, netns } of this.#hosts.reverse()) {
      // A host whose agent never started has none to stop; its namespace goes all the same.
      await (host.agent as AgentProcess | undefined)?.stop().catch(() => undefined);
      await host.exec(process.execPath, [BERTH_BIN, "host", "clean", "--data-dir", host.dataDir]);
      await stopHolder(holder);
      await ip(["link", "del", veth], true);
      await ip(["netns", "del", netns], true);
      rmSync(host.dataDir, { recursive: true, force: true });
    }
    this.#hosts.length = 0;
    await ip(["link", "del", this.bridge], true);
  }
}

/**
 * The process that keeps a host's mount namespace (its own /run, a tmpfs; mounts from the
 * machine still propagate in, the host's own stay inside), so its agent can restart into it.
 */
async function startHolder(netnsPath: string): Promise<ChildProcess> {
  const holder = spawn(
    "nsenter",
    [
      `--net=${netnsPath}`,
      "--",
      "unshare",
      "--mount",
      "--propagation",
      "slave",
      "--",
      "sh",
      "-c",
      "mount -t tmpfs -o mode=0755 berth-run /run && echo ready && exec sleep 2147483647",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  await new Promise<void>((resolve, reject) => {
    holder.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes("ready")) resolve();
    });
    holder.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    holder.once("exit", (code) =>
      reject(new Error(`the host's holder exited ${String(code)}: ${output}`)),
    );
  });
  return holder;
}

async function stopHolder(holder: ChildProcess): Promise<void> {
  if (holder.exitCode !== null || holder.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => holder.once("exit", () => resolve()));
  holder.kill("SIGKILL");
  await exited;
}
