/**
 * Tells each connected host of the cluster networks it is part of: for every cluster it has a
 * subnet of, the VNI, block, its subnet and the other hosts' subnets at their datacenter
 * addresses, which its agent programs into the cluster's VXLAN device. Level-triggered: the
 * whole list is computed from the store and sent when it differs from what that host was last
 * sent (at connect, when kicked after a placement, and every `intervalMs`, which also covers
 * hosts lost and subnets allocated by another server). The same pass gives the server's own
 * host its routes to every remote host's subnets (the load balancer reaches targets there).
 */
import { createHash } from "node:crypto";
import { performance } from "node:perf_hooks";
import { SerialPass, type Logger } from "../core/index.js";
import type { ServerMessage } from "../protocol/index.js";
import { anyOf, type Store } from "../store/index.js";
import type { RelayChannel } from "./assignment-relay.js";
import { vniOf } from "./task-subnets.js";

type NetworksMessage = Extract<ServerMessage, { type: "networks" }>;

/** A route the server's host needs: a remote host's subnet via its datacenter address. */
export interface SubnetRoute {
  subnet: string;
  via: string;
}

export interface ClusterNetworksOptions {
  store: Store;
  channel: RelayChannel;
  taskCidr: string;
  log: Logger;
  intervalMs?: number;
  /** Receives the routes to every remote host's subnets after each pass. */
  onRoutes?: (routes: SubnetRoute[]) => Promise<void>;
}

interface SubnetRow {
  cluster_arn: string;
  host_id: string;
  subnet: string;
  block: string;
  address: string | null;
}

type Peer = NetworksMessage["networks"][number]["peers"][number];

/** What a cluster's members are told of it: its VNI, its hosts' subnets, and a digest of both. */
interface ClusterNetwork {
  vni: number;
  /** Every member with a datacenter address, by host id. */
  peers: Peer[];
  /** Changes whenever what any member is told of this cluster does. */
  digest: string;
}

/** The rows by `key` of each. */
function groupBy(rows: SubnetRow[], key: (row: SubnetRow) => string): Map<string, SubnetRow[]> {
  const groups = new Map<string, SubnetRow[]>();
  for (const row of rows) {
    const list = groups.get(key(row));
    if (list === undefined) groups.set(key(row), [row]);
    else list.push(row);
  }
  return groups;
}

function clusterNetworks(rows: SubnetRow[]): Map<string, ClusterNetwork> {
  const members = groupBy(rows, (row) => row.cluster_arn);
  const clusters = new Map<string, ClusterNetwork>();
  for (const [arn, list] of members) {
    list.sort((a, b) => a.host_id.localeCompare(b.host_id));
    const hash = createHash("sha1").update((list[0] as SubnetRow).block);
    for (const r of list) hash.update(`\n${r.host_id} ${r.subnet} ${r.address ?? ""}`);
    clusters.set(arn, {
      vni: vniOf((list[0] as SubnetRow).block),
      peers: list.flatMap((r) =>
        r.address === null ? [] : [{ hostId: r.host_id, address: r.address, subnet: r.subnet }],
      ),
      digest: hash.digest("base64"),
    });
  }
  return clusters;
}

/** A host's message, and a key that is the same for the same message. */
export interface PlannedNetworks {
  key: string;
  message: NetworksMessage;
}

/**
 * Each connected host's message from all subnets of active hosts (pure). A host whose key
 * `unchanged` says it was last sent is left out: its message is not built. Each cluster's members
 * are sorted and digested once, not once per member (at 5,000 hosts in 79 clusters a pass built
 * and compared some 315,000 peers every 2 s: the pass was 5-8% of a server in bench:placement).
 */
export function planNetworks(
  rows: SubnetRow[],
  taskCidr: string,
  addresses: Map<string, string | null>,
  unchanged: (hostId: string, key: string) => boolean = () => false,
): Map<string, PlannedNetworks> {
  const clusters = clusterNetworks(rows);
  const byHost = groupBy(rows, (row) => row.host_id);
  const planned = new Map<string, PlannedNetworks>();
  for (const [hostId, address] of addresses) {
    const own = (byHost.get(hostId) ?? []).sort((a, b) =>
      a.cluster_arn.localeCompare(b.cluster_arn),
    );
    // The host's own subnet in each cluster is in that cluster's digest.
    let key = address ?? "";
    for (const row of own) key += ` ${row.cluster_arn} ${clusters.get(row.cluster_arn)?.digest}`;
    if (unchanged(hostId, key)) continue;
    const networks = own.map((row) => {
      const cluster = clusters.get(row.cluster_arn) as ClusterNetwork;
      return {
        clusterArn: row.cluster_arn,
        vni: cluster.vni,
        block: row.block,
        subnet: row.subnet,
        peers: cluster.peers.filter((peer) => peer.hostId !== hostId),
      };
    });
    planned.set(hostId, {
      key,
      message: { type: "networks", taskCidr, ...(address === null ? {} : { address }), networks },
    });
  }
  return planned;
}

export class ClusterNetworks {
  /** Each host's key (planNetworks) of the message it was last sent. */
  readonly #sent = new Map<string, string>();
  #timer: NodeJS.Timeout | undefined;
  readonly #passes: SerialPass;
  #soon: NodeJS.Timeout | undefined;
  /** How long the last pass took (ms). */
  #lastPassMs = 0;

  constructor(private readonly options: ClusterNetworksOptions) {
    // A failed pass is a warning: the timer tries again within seconds.
    this.#passes = new SerialPass(() => this.#pass(), options.log, {
      failed: "publishing cluster networks failed",
      level: "warn",
    });
  }

  start(): void {
    this.#passes.start();
    // Not SerialPass's fixed beat: the next timed pass comes `intervalMs` after the last one
    // ended, so a slow store is not read back to back.
    const poll = (): void => {
      void this.kick().finally(() => {
        if (this.#timer === undefined) return;
        this.#timer = setTimeout(poll, this.options.intervalMs ?? 2_000);
        this.#timer.unref();
      });
    };
    this.#timer = setTimeout(poll, this.options.intervalMs ?? 2_000);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    clearTimeout(this.#soon);
    this.#soon = undefined;
    await this.#passes.stop();
  }

  /** A host (re)connected: it is sent its list whatever it was sent before. */
  connected(hostId: string): void {
    this.#sent.delete(hostId);
    void this.kick();
  }

  /** Runs a pass now (one at a time; a kick during a pass makes another follow it). */
  kick(): Promise<void> {
    return this.#passes.kick();
  }

  /**
   * A placement gave a host a new subnet: a pass soon, for it and whatever others come
   * meanwhile. A pass reads every host's subnets and sends each member of every cluster that
   * changed its whole list again (while a fleet's first tasks are placed, most hosts: every
   * task of a 5,000-host bench:placement run is the first of its cluster on its host, and a
   * pass is then mostly the socket writes of 5,000 lists of some 5 KB). Passes back to back
   * took a large share of the server then; waiting nine times the last pass's length keeps them
   * to a tenth of the time (a fifth with four times, which became most of a pass's cost once
   * planning was cheap), and is 50 ms on a small fleet.
   */
  kickSoon(): void {
    if (this.#soon !== undefined) return;
    this.#soon = setTimeout(
      () => {
        this.#soon = undefined;
        void this.kick();
      },
      Math.max(50, 9 * this.#lastPassMs),
    );
    this.#soon.unref();
  }

  async #pass(): Promise<void> {
    const started = performance.now();
    try {
      await this.#publish();
    } finally {
      this.#lastPassMs = performance.now() - started;
    }
  }

  async #publish(): Promise<void> {
    const { store, channel, taskCidr } = this.options;
    const rows = await store
      .selectFrom("host_subnets")
      .innerJoin("hosts", "hosts.id", "host_subnets.host_id")
      .innerJoin("cluster_blocks", "cluster_blocks.cluster_arn", "host_subnets.cluster_arn")
      .select([
        "host_subnets.cluster_arn",
        "host_subnets.host_id",
        "host_subnets.subnet",
        "cluster_blocks.block",
        "hosts.address",
      ])
      .where("hosts.status", "=", "ACTIVE")
      .execute();
    const connected = channel.connectedHosts();
    // A set, not the list: looking each host up in the list was hosts x hosts per pass (a tenth
    // of the server in bench:placement at 5,000 hosts).
    const open = new Set(connected);
    for (const known of this.#sent.keys()) if (!open.has(known)) this.#sent.delete(known);
    const addresses = new Map<string, string | null>();
    if (connected.length > 0) {
      const hosts = await store
        .selectFrom("hosts")
        .select(["id", "address"])
        .where(anyOf(store, "id", connected))
        .execute();
      for (const host of hosts) addresses.set(host.id, host.address);
    }
    // Only hosts whose clusters changed since they were last sent are planned and sent.
    const planned = planNetworks(
      rows,
      taskCidr,
      addresses,
      (hostId, key) => this.#sent.get(hostId) === key,
    );
    for (const [hostId, { key, message }] of planned)
      if (channel.send(hostId, message)) this.#sent.set(hostId, key);
    await this.options.onRoutes?.(
      rows.flatMap((r) => (r.address === null ? [] : [{ subnet: r.subnet, via: r.address }])),
    );
  }
}
