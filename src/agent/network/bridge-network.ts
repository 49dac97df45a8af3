/**
 * Task networks on a bridge: one bridge and subnet per cluster on this host, one address per
 * task (awsvpc: the task's own interface, `eth0` in its namespace, on a veth pair whose host side
 * is a port of the bridge: task-links.ts). What it holds is kept under `<agent data dir>/network/`:
 *   clusters/<key>.json      a cluster's bridge and subnet on this host
 *   attachments/<task>.json  a task's address, MAC and bridge port
 *   ipam/<network>/          its addresses in use, one file each (addresses.ts)
 * so a restarted agent keeps every running task's address and releases it at stop. A cluster's
 * bridge, its iptables rules and its subnet claim go 10 s after its last task on this host
 * stopped (a task started meanwhile keeps them: rebuilding a bridge costs a launch ~0.2 s).
 */
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { BerthError, silentLogger, type Logger } from "../../core/index.js";
import { runCommand } from "../runtime/index.js";
import { releaseAddress, takeAddress } from "./addresses.js";
import {
  addTaskLink,
  ensureBridge,
  IF_NAME,
  NETWORK_SETUP_FAILED,
  randomMac,
  removeTaskLink,
  type BridgeSpec,
} from "./task-links.js";
import { applyClusterFirewall, removeClusterFirewall } from "./cluster-firewall.js";
import { applyHostGuard, removeHostGuard } from "./host-guard.js";
import { applyPortGuard, portGuardChain, removePortGuard } from "./port-guard.js";
import { deleteChain, deleteRules, ruleValue } from "./iptables.js";
import {
  claimSubnet,
  contains,
  DEFAULT_TASK_CIDR,
  formatCidr,
  formatIpv4,
  parseCidr,
  parseIpv4,
  releaseSubnet,
  type Cidr,
} from "./subnets.js";
import { applyOverlay, overlayMtu, overlaySpec, removeOverlay } from "./overlay.js";
import type {
  HostNetworks,
  TaskAddress,
  TaskAttachment,
  TaskNetwork,
  TaskNetworkTarget,
} from "./types.js";

export interface BridgeTaskNetworkOptions {
  /** The agent's data dir. */
  dataDir: string;
  /** The pool cluster subnets are cut from; default 100.64.0.0/10. */
  taskCidr?: string;
  log?: Logger;
  /**
   * How long a cluster's network outlives its last task on this host, so that a task started
   * right after another stopped does not rebuild the bridge; default 10 s, 0: at once.
   */
  idleRemovalMs?: number;
  /**
   * The TCP ports the agent serves tasks on their gateway (the task metadata endpoint's): the
   * only thing on the host a task may connect to. Default: none.
   */
  gatewayPorts?: () => Promise<number[]>;
  /**
   * The gateway port 169.254.170.2:80 leads to (the task metadata endpoint's, where task role
   * credentials are served: the AWS SDKs take them over plain HTTP only from that address).
   */
  linkLocalPort?: () => Promise<number>;
}

const DEFAULT_IDLE_REMOVAL_MS = 10_000;

interface ClusterRecord {
  clusterArn: string;
  key: string;
  subnet: string;
  /** The bridge's and tasks' MTU: the datacenter link's less VXLAN's (absent: older records). */
  mtu?: number;
}

interface AttachmentRecord {
  /** The task's id: its file's name (a claimed prepared attachment keeps its old content). */
  taskId: string;
  /**
   * The id its address file and port guard are held under: the prepared sandbox's after a
   * claim. (`cniId`: agents that ran the CNI plugins named it so, as their ADD's container id.)
   */
  cniId: string;
  clusterArn: string;
  clusterKey: string;
  /** The task's bridge port (absent in CNI-made records: their `result` names it). */
  port?: string;
  /** CNI-made records: the plugin's ADD result. */
  result?: { interfaces?: Array<{ name: string; sandbox?: string }> };
  address: TaskAddress;
  /**
   * Written with the address, before the task's link and port guard are made, and dropped once
   * both are: a record an agent killed midway left names what to remove (the orphan pass at
   * adoption detaches it), where an address file and a guard chain would otherwise stay.
   */
  partial?: boolean;
}

export class BridgeTaskNetwork implements TaskNetwork {
  readonly dir: string;
  readonly #pool: Cidr;
  readonly #log: Logger;
  readonly #locks = new Map<string, Promise<unknown>>();
  readonly #idleRemovalMs: number;
  readonly #idleTimers = new Map<string, NodeJS.Timeout>();
  /** Attaches and detaches under way per cluster. */
  readonly #inUse = new Map<string, number>();
  readonly #gatewayPorts: () => Promise<number[]>;
  readonly #linkLocalPort: (() => Promise<number>) | undefined;
  /** Clusters whose host guard this agent has (re)written since it started. */
  readonly #guarded = new Set<string>();
  /** What the server last said of the cluster networks across hosts. */
  #networks: HostNetworks | undefined;

  constructor(options: BridgeTaskNetworkOptions) {
    this.dir = join(resolve(options.dataDir), "network");
    const pool = parseCidr(options.taskCidr ?? DEFAULT_TASK_CIDR);
    if (pool === undefined)
      throw new BerthError("InvalidTaskCidr", `invalid task CIDR ${options.taskCidr ?? ""}`);
    this.#pool = pool;
    this.#log = options.log ?? silentLogger;
    this.#idleRemovalMs = options.idleRemovalMs ?? DEFAULT_IDLE_REMOVAL_MS;
    this.#gatewayPorts = options.gatewayPorts ?? (() => Promise.resolve([]));
    this.#linkLocalPort = options.linkLocalPort;
    // Networks an earlier agent left idle go after the same delay.
    for (const cluster of this.#clusters()) this.#removeWhenIdle(cluster);
  }

  /** The bridge and network name of a cluster: unique per agent data dir and cluster. */
  clusterKey(clusterArn: string): string {
    return createHash("sha256").update(`${this.dir}\n${clusterArn}`).digest("hex").slice(0, 10);
  }

  static bridgeName(key: string): string {
    return `bth${key}`;
  }

  attach(target: TaskNetworkTarget): Promise<TaskAddress> {
    const key = this.clusterKey(target.clusterArn);
    this.#keep(key);
    return this.#using(key, async () => {
      const cluster = await this.#locked(key, () =>
        this.#cluster(target.clusterArn, key, target.subnet),
      ).catch((error: unknown) => {
        // A cluster made but left unguarded goes like an idle one, unless a task comes.
        const made = this.#readCluster(key);
        if (made !== undefined) this.#removeWhenIdle(made);
        throw error;
      });
      const existing = this.#readAttachment(target.taskId);
      if (existing?.partial === true) await this.#detach(target.taskId, existing.clusterKey);
      else if (existing !== undefined) return existing.address;
      const subnet = parseCidr(cluster.subnet) as Cidr;
      const ipam = this.#ipamDir(key);
      // Claimed (on disk) before anything uses it; released only once its link is gone.
      const ip = takeAddress(ipam, subnet, target.taskId, IF_NAME);
      const address: TaskAddress = {
        privateIPv4Address: ip,
        macAddress: randomMac(),
        subnet: cluster.subnet,
        gateway: gatewayOf(cluster),
      };
      const port = this.#portName(target.taskId);
      const chain = portGuardChain(this.dir, target.taskId);
      const file = join(this.dir, "attachments", `${target.taskId}.json`);
      const record: AttachmentRecord = {
        taskId: target.taskId,
        cniId: target.taskId,
        clusterArn: target.clusterArn,
        clusterKey: key,
        port,
        address,
      };
      this.#write(file, { ...record, partial: true } satisfies AttachmentRecord);
      // Tasks' attaches and detaches run side by side; a task's link and port guard too (the
      // guard matches the port by name): both are done before the task runs.
      const done = await Promise.allSettled([
        addTaskLink({
          ...this.#bridgeSpec(cluster),
          netnsPath: target.netnsPath,
          port,
          mac: address.macAddress,
          address: ip,
          ...(target.background === true ? { background: true } : {}),
        }),
        applyPortGuard({ chain, port, mac: address.macAddress, ip }, target.background),
      ]);
      const failed = done.find((d) => d.status === "rejected");
      if (failed !== undefined) {
        const [unlinked] = await Promise.allSettled([removeTaskLink(port), removePortGuard(chain)]);
        if (unlinked.status === "fulfilled") {
          releaseAddress(ipam, ip, target.taskId);
          removeRecord(file);
        }
        this.#removeWhenIdle(cluster);
        throw failed.reason;
      }
      this.#write(file, record);
      return address;
    });
  }

  gateway(clusterArn: string, subnet?: string): Promise<string> {
    const key = this.clusterKey(clusterArn);
    this.#keep(key);
    // A cluster's record changes only when the server moved its subnet, so reading it needs no turn.
    const existing = this.#readCluster(key);
    if (existing !== undefined && (subnet === undefined || existing.subnet === subnet))
      return Promise.resolve(gatewayOf(existing));
    return this.#locked(key, async () => gatewayOf(await this.#cluster(clusterArn, key, subnet)));
  }

  detach(target: TaskNetworkTarget): Promise<void> {
    const key =
      this.#readAttachment(target.taskId)?.clusterKey ?? this.clusterKey(target.clusterArn);
    return this.#using(key, () => this.#detach(target.taskId, key));
  }

  claim(preparedId: string, taskId: string, subnet?: string): Promise<TaskAddress | undefined> {
    const prepared = this.#readAttachment(preparedId);
    if (prepared === undefined || prepared.partial === true) return Promise.resolve(undefined);
    this.#keep(prepared.clusterKey);
    const cluster = this.#readCluster(prepared.clusterKey);
    if (cluster === undefined || (subnet !== undefined && cluster.subnet !== subnet))
      return Promise.resolve(undefined);
    if (this.#readAttachment(taskId) !== undefined)
      throw new BerthError(NETWORK_SETUP_FAILED, `task ${taskId} already has an address`, {
        fault: "server",
      });
    // One rename: the address is the prepared sandbox's or the task's, never both, whenever the
    // agent is killed (the file's name is the task; the id its address is held under stays inside).
    moveRecord(
      join(this.dir, "attachments", `${preparedId}.json`),
      join(this.dir, "attachments", `${taskId}.json`),
    );
    return Promise.resolve(prepared.address);
  }

  attached(): Promise<TaskAttachment[]> {
    return Promise.resolve(
      this.#attachments().map(({ taskId, clusterArn, address }) => ({
        taskId,
        clusterArn,
        address,
      })),
    );
  }

  /** Detaches every task and removes every cluster network (decommissioning, test cleanup). */
  async purge(): Promise<void> {
    for (const key of [...this.#idleTimers.keys()]) this.#keep(key);
    for (const record of this.#attachments()) {
      await this.#using(record.clusterKey, () =>
        this.#detach(record.taskId, record.clusterKey),
      ).catch((error: unknown) =>
        this.#log.warn("detaching a task failed", { taskId: record.taskId, error: String(error) }),
      );
    }
    // What a failed detach left goes with its cluster's bridge, rules and address files.
    for (const cluster of this.#clusters()) {
      await this.#locked(cluster.key, () => this.#removeCluster(cluster, true));
    }
  }

  /**
   * Deleting the task's veth (its host side) takes its eth0, address and routes with it; then
   * its address is free. A record an agent that ran the CNI plugins wrote names its port in the
   * ADD result; the bridge plugin's DEL did no more (and host-local's released the file).
   */
  async #detach(taskId: string, key: string): Promise<void> {
    const cluster = this.#readCluster(key);
    if (cluster === undefined) return;
    const attachment = this.#readAttachment(taskId);
    if (attachment !== undefined) {
      const port = portOf(attachment);
      await Promise.all([
        port === undefined ? undefined : removeTaskLink(port),
        removePortGuard(portGuardChain(this.dir, attachment.cniId), port),
      ]);
      releaseAddress(this.#ipamDir(key), attachment.address.privateIPv4Address, attachment.cniId);
      removeRecord(join(this.dir, "attachments", `${taskId}.json`));
    }
    this.#removeWhenIdle(cluster);
  }

  /** A task is coming: the cluster's network stays. */
  #keep(key: string): void {
    clearTimeout(this.#idleTimers.get(key));
    this.#idleTimers.delete(key);
  }

  /** Removes the cluster's network once it has had no task for the idle delay. */
  #removeWhenIdle(cluster: ClusterRecord): void {
    if (this.#attachments().some((a) => a.clusterKey === cluster.key)) return;
    this.#keep(cluster.key);
    const timer = setTimeout(() => {
      this.#idleTimers.delete(cluster.key);
      this.#locked(cluster.key, () => this.#removeCluster(cluster, false)).catch((error: unknown) =>
        this.#log.warn("removing an idle cluster network failed", { error: String(error) }),
      );
    }, this.#idleRemovalMs);
    timer.unref();
    this.#idleTimers.set(cluster.key, timer);
  }

  /**
   * The cluster's network on this host, made (subnet claimed) on its first task, and guarded
   * before any task of it gets an address (again by a restarted agent: rules may be stale).
   */
  async #cluster(clusterArn: string, key: string, subnet?: string): Promise<ClusterRecord> {
    let record = this.#readCluster(key);
    if (record !== undefined && subnet !== undefined && record.subnet !== subnet) {
      // The server gave this host another subnet (it was lost and came back): the old one goes
      // with its bridge, which only an idle network may do.
      if (this.#attachments().some((a) => a.clusterKey === key))
        throw new BerthError(
          NETWORK_SETUP_FAILED,
          `this host's subnet of the cluster moved from ${record.subnet} to ${subnet} while tasks still use it`,
          { fault: "server" },
        );
      await this.#removeCluster(record, true);
      record = undefined;
    }
    record ??= await this.#newCluster(clusterArn, key, subnet);
    if (!this.#guarded.has(key)) {
      await applyHostGuard({
        key,
        bridge: BridgeTaskNetwork.bridgeName(key),
        gateway: gatewayOf(record),
        tcpPorts: await this.#gatewayPorts(),
        ...(this.#linkLocalPort === undefined
          ? {}
          : { linkLocalPort: await this.#linkLocalPort() }),
      });
      await applyClusterFirewall({
        key,
        bridge: BridgeTaskNetwork.bridgeName(key),
        subnet: record.subnet,
      });
      await ensureBridge(this.#bridgeSpec(record));
      this.#guarded.add(key);
      await this.#applyOverlay(record);
    }
    return record;
  }

  /** Takes the server's view of the cluster networks and brings every overlay here up to it. */
  async useNetworks(networks: HostNetworks): Promise<void> {
    this.#networks = networks;
    for (const cluster of this.#clusters())
      await this.#locked(cluster.key, async () => {
        const current = this.#readCluster(cluster.key);
        if (current !== undefined) await this.#applyOverlay(current);
      });
  }

  /** The cluster's overlay as the server's view says (none without peers or an address). */
  async #applyOverlay(cluster: ClusterRecord): Promise<void> {
    const spec = overlaySpec(cluster, BridgeTaskNetwork.bridgeName(cluster.key), this.#networks);
    await applyOverlay(spec, cluster.mtu ?? (await overlayMtu()));
    if (spec.peers.length > 0)
      this.#log.info("cluster network across hosts", {
        clusterArn: cluster.clusterArn,
        vni: spec.vni,
        peers: spec.peers.length,
      });
  }

  async #newCluster(clusterArn: string, key: string, given?: string): Promise<ClusterRecord> {
    // The control plane's subnet when it gave one (it is unique across hosts); else our own pick.
    const subnet = given === undefined ? await claimSubnet(this.#pool, this.dir) : parseCidr(given);
    if (subnet === undefined)
      throw new BerthError(
        NETWORK_SETUP_FAILED,
        `no free subnet left in the task CIDR ${formatCidr(this.#pool)} for another cluster on this host`,
        { fault: "server" },
      );
    const record: ClusterRecord = {
      clusterArn,
      key,
      subnet: formatCidr(subnet),
      mtu: await overlayMtu(),
    };
    this.#write(join(this.dir, "clusters", `${key}.json`), record);
    this.#log.info("cluster network created", {
      clusterArn,
      bridge: BridgeTaskNetwork.bridgeName(key),
      subnet: record.subnet,
    });
    return record;
  }

  /**
   * Removes the bridge, its iptables rules and the subnet claim once no task uses them (or, with
   * `force`, in any case, forgetting the tasks still attached).
   */
  async #removeCluster(cluster: ClusterRecord, force: boolean): Promise<void> {
    const attached = this.#attachments().filter((a) => a.clusterKey === cluster.key);
    if ((attached.length > 0 || (this.#inUse.get(cluster.key) ?? 0) > 0) && !force) return;
    for (const record of attached) {
      await removePortGuard(portGuardChain(this.dir, record.cniId), portOf(record)).catch(
        () => undefined,
      );
      removeRecord(join(this.dir, "attachments", `${record.taskId}.json`));
    }
    const bridge = BridgeTaskNetwork.bridgeName(cluster.key);
    const subnet = parseCidr(cluster.subnet) as Cidr;
    await removeOverlay(cluster.key);
    await runCommand("ip", ["link", "del", bridge], { allowFailure: true });
    await removeHostGuard({ key: cluster.key, bridge });
    await removeClusterFirewall({ key: cluster.key });
    this.#guarded.delete(cluster.key);
    // What agents before the cluster firewall left (per-task rules of the CNI plugins' time): the
    // firewall plugin's isolation of this bridge from the others ...
    await deleteRules("filter", "CNI-ISOLATION-STAGE-1", (r) => ruleValue(r, "-i") === bridge);
    await deleteRules("filter", "CNI-ISOLATION-STAGE-2", (r) => ruleValue(r, "-o") === bridge);
    // ... and per-address rules a DEL could not undo (its namespace or ADD result was lost).
    const inSubnet = (value: string | undefined): boolean =>
      value !== undefined && contains(subnet, parseIpv4(value.split("/")[0] ?? "") ?? -1);
    await deleteRules(
      "filter",
      "CNI-FORWARD",
      (r) => inSubnet(ruleValue(r, "-s")) || inSubnet(ruleValue(r, "-d")),
    );
    const masquerade = await deleteRules("nat", "POSTROUTING", (r) =>
      (ruleValue(r, "--comment") ?? "").includes(`name: "${networkName(cluster.key)}"`),
    );
    for (const rule of masquerade) {
      const chain = ruleValue(rule, "-j");
      if (chain?.startsWith("CNI-") === true) await deleteChain("nat", chain);
    }
    rmSync(this.#ipamDir(cluster.key), { recursive: true, force: true });
    removeRecord(join(this.dir, "clusters", `${cluster.key}.json`));
    releaseSubnet(subnet, this.dir);
    this.#log.info("cluster network removed", { clusterArn: cluster.clusterArn, bridge });
  }

  #bridgeSpec(cluster: ClusterRecord): BridgeSpec {
    return {
      bridge: BridgeTaskNetwork.bridgeName(cluster.key),
      gateway: gatewayOf(cluster),
      prefix: (parseCidr(cluster.subnet) as Cidr).prefix,
      ...(cluster.mtu === undefined ? {} : { mtu: cluster.mtu }),
    };
  }

  /** Where the cluster's addresses in use are kept (host-local's place, by network name). */
  #ipamDir(key: string): string {
    return join(this.dir, "ipam", networkName(key));
  }

  /** A task's bridge port: unique per agent data dir and task (15 characters, Linux's most). */
  #portName(id: string): string {
    return `btp${createHash("sha256").update(`${this.dir}\n${id}`).digest("hex").slice(0, 12)}`;
  }

  /** Runs a task's attach or detach; the cluster's network is not removed while any runs. */
  async #using<T>(key: string, work: () => Promise<T>): Promise<T> {
    this.#inUse.set(key, (this.#inUse.get(key) ?? 0) + 1);
    try {
      return await work();
    } finally {
      const left = (this.#inUse.get(key) ?? 1) - 1;
      if (left > 0) this.#inUse.set(key, left);
      else this.#inUse.delete(key);
    }
  }

  /** Makes and removes cluster networks one at a time per cluster. */
  #locked<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.#locks.get(key) ?? Promise.resolve();
    const next = previous.then(work, work);
    const settled = next.catch(() => undefined);
    this.#locks.set(key, settled);
    void settled.then(() => {
      if (this.#locks.get(key) === settled) this.#locks.delete(key);
    });
    return next;
  }

  #readCluster(key: string): ClusterRecord | undefined {
    return readJson<ClusterRecord>(join(this.dir, "clusters", `${key}.json`));
  }

  #clusters(): ClusterRecord[] {
    return this.#list("clusters")
      .map((file) => readJson<ClusterRecord>(file))
      .filter(isDefined);
  }

  #readAttachment(taskId: string): AttachmentRecord | undefined {
    return attachmentAt(join(this.dir, "attachments", `${taskId}.json`));
  }

  #attachments(): AttachmentRecord[] {
    return this.#list("attachments").map(attachmentAt).filter(isDefined);
  }

  #list(sub: string): string[] {
    try {
      return readdirSync(join(this.dir, sub))
        .filter((name) => name.endsWith(".json"))
        .map((name) => join(this.dir, sub, name));
    } catch {
      return [];
    }
  }

  #write(file: string, value: unknown): void {
    const text = JSON.stringify(value);
    mkdirSync(join(file, ".."), { recursive: true });
    writeFileSync(`${file}.tmp`, text);
    renameSync(`${file}.tmp`, file);
    records.set(file, text);
  }
}

/** The gateway: the subnet's first address (host-local's default, kept). */
function gatewayOf(cluster: ClusterRecord): string {
  return formatIpv4((parseCidr(cluster.subnet) as Cidr).base + 1);
}

function networkName(key: string): string {
  return `berth-${key}`;
}

/** The task's bridge port: named in its record, or in the ADD result of a CNI-made one. */
function portOf(attachment: AttachmentRecord): string | undefined {
  const bridge = BridgeTaskNetwork.bridgeName(attachment.clusterKey);
  return (
    attachment.port ??
    attachment.result?.interfaces?.find((i) => i.sandbox === undefined && i.name !== bridge)?.name
  );
}

/** An attachment record: its task is its file's name, CNI's id what its ADD was made for. */
function attachmentAt(file: string): AttachmentRecord | undefined {
  const record = readJson<Omit<AttachmentRecord, "cniId"> & { cniId?: string }>(file);
  if (record === undefined) return undefined;
  return { ...record, taskId: basename(file, ".json"), cniId: record.cniId ?? record.taskId };
}

/**
 * The cluster and attachment records' texts, by file, as this process last wrote or read them.
 * Every change to those files is made here, with synchronous calls (nothing runs between a
 * change and the cache's), and one agent holds a data dir: so the cache is what the files hold,
 * and a launch's reads (each record about four times, every attachment on each detach) cost no
 * read of the disk. The directory listings still come from the disk.
 */
const records = new Map<string, string>();

function removeRecord(file: string): void {
  rmSync(file, { force: true });
  records.delete(file);
}

function moveRecord(from: string, to: string): void {
  renameSync(from, to);
  const text = records.get(from);
  records.delete(from);
  if (text === undefined) records.delete(to);
  else records.set(to, text);
}

/** A record, or undefined when there is none; any other failure (EMFILE) is not "none". */
function readJson<T>(file: string): T | undefined {
  let text = records.get(file);
  try {
    text ??= readFileSync(file, "utf8");
  } catch (error) {
    if ((error as { code?: unknown }).code === "ENOENT") return undefined;
    throw error;
  }
  records.set(file, text);
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}

function isDefined<T>(value: T | undefined): value is T {
  return value !== undefined;
}
