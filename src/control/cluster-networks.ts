/**
 * Tells each connected host of the cluster networks it is part of: for every cluster it has a
 * subnet of, the VNI, block, its subnet and the other hosts' subnets at their datacenter
 * addresses, which its agent programs into the cluster's VXLAN device. Level-triggered: the
 * whole list is computed from the store and sent when it differs from what that host was last
 * sent (at connect, when kicked after a placement, and every `intervalMs`, which also covers
 * hosts lost and subnets allocated by another server). The same pass gives the server's own
 * host its routes to every remote host's subnets (the load balancer reaches targets there).
 */
import { performance } from "node:perf_hooks";
import { SerialPass, type Logger } from "../core/index.js";
import type { ServerMessage } from "../protocol/index.js";
import type { Store } from "../store/index.js";
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

/** Each host's message from all subnets of active hosts (pure). */
export function planNetworks(
  rows: SubnetRow[],
  taskCidr: string,
  addresses: Map<string, string | null>,
): Map<string, NetworksMessage> {
  const messages = new Map<string, NetworksMessage>();
  // Grouped once by host and by cluster: filtering all rows for each host was hosts x subnets.
  const group = (key: (row: SubnetRow) => string): Map<string, SubnetRow[]> => {
    const groups = new Map<string, SubnetRow[]>();
    for (const row of rows) {
      const list = groups.get(key(row));
      if (list === undefined) groups.set(key(row), [row]);
      else list.push(row);
    }
    return groups;
  };
  const byHost = group((row) => row.host_id);
  const byCluster = group((row) => row.cluster_arn);
  for (const [hostId, address] of addresses) {
    const networks = (byHost.get(hostId) ?? [])
      .map((own) => ({
        clusterArn: own.cluster_arn,
        vni: vniOf(own.block),
        block: own.block,
        subnet: own.subnet,
        peers: (byCluster.get(own.cluster_arn) ?? [])
          .filter((r) => r.host_id !== hostId)
          .flatMap((r) =>
            r.address === null ? [] : [{ hostId: r.host_id, address: r.address, subnet: r.subnet }],
          )
          .sort((a, b) => a.hostId.localeCompare(b.hostId)),
      }))
      .sort((a, b) => a.clusterArn.localeCompare(b.clusterArn));
    messages.set(hostId, {
      type: "networks",
      taskCidr,
      ...(address === null ? {} : { address }),
      networks,
    });
  }
  return messages;
}

export class ClusterNetworks {
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
   * meanwhile. A pass reads every host's subnets and plans every host's list, so passes after
   * each new subnet, back to back, took a large share of the server while a fleet's first tasks
   * were placed (bench:placement: every task of a 5,000-host run is the first of its cluster on
   * its host); waiting four times the last pass's length keeps them to a fifth of the time, and
   * is 50 ms on a small fleet.
   */
  kickSoon(): void {
    if (this.#soon !== undefined) return;
    this.#soon = setTimeout(
      () => {
        this.#soon = undefined;
        void this.kick();
      },
      Math.max(50, 4 * this.#lastPassMs),
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
        .where("id", "in", connected)
        .execute();
      for (const host of hosts) addresses.set(host.id, host.address);
    }
    for (const [hostId, message] of planNetworks(rows, taskCidr, addresses)) {
      const text = JSON.stringify(message);
      if (this.#sent.get(hostId) === text) continue;
      if (channel.send(hostId, message)) this.#sent.set(hostId, text);
    }
    await this.options.onRoutes?.(
      rows.flatMap((r) => (r.address === null ? [] : [{ subnet: r.subnet, via: r.address }])),
    );
  }
}
