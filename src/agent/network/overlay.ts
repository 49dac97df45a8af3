/**
 * A cluster's network across hosts: the kernel's VXLAN, one device per cluster per host
 * (`bvx<key>`, VNI from the cluster's block), programmed statically from the host list the
 * server pushes (no multicast, no learning), as flannel's vxlan backend does. Each host's
 * subnet is routed through the device to that host's VTEP address (its subnet's first
 * address, on the device as a /32); a permanent neighbour entry gives that address the peer's
 * MAC (derived from its subnet and VNI, so nobody needs to exchange it) and a permanent FDB
 * entry sends that MAC to the peer's datacenter address.
 *
 * What it keeps (iptables, keyed to the cluster, in chains of its own):
 * - the overlay carries only this cluster's bridge: traffic in from the device may go only to
 *   the cluster's bridge, and only that bridge may send into it;
 * - a task may open connections into the task address space only on its own bridge or through
 *   its own overlay (another cluster's subnet routed over the datacenter link stays closed);
 * - the host accepts from the device only replies to what it opened;
 * - the VNI's packets are taken only from the cluster's peers' addresses (VXLAN itself
 *   authenticates nothing);
 * - task to task inside the cluster's block is not masqueraded (the peer sees the task's own
 *   address); everything else keeps the NAT of the cluster network.
 * The device's MTU is the datacenter link's less VXLAN's 50 bytes, as the bridge's is (set at
 * its creation), so TCP never sends a segment the overlay would have to fragment.
 */
import { runCommand } from "../runtime/index.js";
import { DEFAULT_TASK_CIDR, formatIpv4, parseCidr, type Cidr } from "./subnets.js";
import type { HostNetworks } from "./types.js";
import { deleteChain, deleteRules, listRules, restoreRules, ruleValue } from "./iptables.js";

export const VXLAN_PORT = 4789;
/** Outer IPv4 (20) + UDP (8) + VXLAN (8) + inner Ethernet (14). */
export const VXLAN_OVERHEAD = 50;

export interface OverlayPeer {
  /** The peer's datacenter address (where its VXLAN packets go). */
  address: string;
  /** Its subnet of the cluster's block. */
  subnet: string;
}

export interface OverlaySpec {
  key: string;
  bridge: string;
  vni: number;
  /** This host's subnet of the block, and the cluster's whole block. */
  subnet: string;
  block: string;
  /** The whole task address space (no task opens connections into it but its own cluster's). */
  taskCidr: string;
  /** This host's datacenter address. */
  local: string;
  peers: OverlayPeer[];
}

export function vxlanName(key: string): string {
  return `bvx${key}`;
}

/** The VTEP address of a host's subnet: its first (network) address, as flannel uses. */
export function vtepAddress(subnet: string): string {
  return formatIpv4((parseCidr(subnet) as Cidr).base);
}

/** A host's VTEP MAC, from its subnet and the VNI: locally administered, unique in the VNI. */
export function vtepMac(subnet: string, vni: number): string {
  const base = (parseCidr(subnet) as Cidr).base;
  const bytes = [0x02, ...[24, 16, 8, 0].map((s) => Math.floor(base / 2 ** s) % 256), vni % 256];
  return bytes.map((b) => b.toString(16).padStart(2, "0")).join(":");
}

function chains(key: string): { forward: string; input: string; nat: string } {
  return { forward: `BERTH-OV-${key}`, input: `BERTH-OVI-${key}`, nat: `BERTH-OVN-${key}` };
}

/**
 * The xt_u32 match for a VXLAN packet of `vni`: from the IP header's length to the UDP header,
 * then 12 bytes on (UDP's 8 and VXLAN's flags word) the 24-bit VNI above a reserved byte.
 */
export function vniU32(vni: number): string {
  return `-m u32 --u32 0>>22&0x3C@12>>8=${vni}`;
}

/**
 * The overlay of one cluster network on this host, as the server's last list says.
 * Before any list (just started, or an older server), the cluster has no peers but is still
 * kept off the whole shared space every task CIDR lies in: a task must not open connections
 * into other clusters' subnets through routes on this host in the moments before the list
 * arrives. Without an address of ours (we came over loopback) there are no peers either.
 */
export function overlaySpec(
  cluster: { clusterArn: string; key: string; subnet: string },
  bridge: string,
  networks: HostNetworks | undefined,
): OverlaySpec {
  const found = networks?.networks.find((n) => n.clusterArn === cluster.clusterArn);
  // A view of another subnet is stale (this host's subnet of the cluster moved).
  const view = found?.subnet === cluster.subnet ? found : undefined;
  const peers = networks?.address === undefined ? [] : (view?.peers ?? []);
  return {
    key: cluster.key,
    bridge,
    vni: view?.vni ?? 0,
    subnet: cluster.subnet,
    block: view?.block ?? cluster.subnet,
    taskCidr: networks?.taskCidr ?? DEFAULT_TASK_CIDR,
    local: networks?.address ?? "",
    peers,
  };
}

/** The `iptables-restore --noflush` input for the overlay's chains (and their jumps if new). */
export function overlayRules(spec: OverlaySpec, jumps: { filter: boolean; nat: boolean }): string {
  const { forward, input, nat } = chains(spec.key);
  const vx = vxlanName(spec.key);
  const br = spec.bridge;
  const vniMatch = vniU32(spec.vni);
  return [
    "*filter",
    `:${forward} - [0:0]`,
    `:${input} - [0:0]`,
    `-A ${forward} -i ${vx} -o ${br} -j ACCEPT`,
    `-A ${forward} -i ${br} -o ${vx} -j ACCEPT`,
    `-A ${forward} -i ${vx} -j DROP`,
    `-A ${forward} -o ${vx} -j DROP`,
    `-A ${forward} -i ${br} -o ${br} -j RETURN`,
    `-A ${forward} -i ${br} -d ${spec.taskCidr} -m conntrack --ctstate NEW -j DROP`,
    // VXLAN has no authentication: only the cluster's peers may send this VNI's packets here.
    // Any other machine on the datacenter network could otherwise put frames into the bridge.
    ...spec.peers.map(
      (peer) =>
        `-A ${input} -s ${peer.address}/32 -p udp --dport ${VXLAN_PORT} ${vniMatch} -j ACCEPT`,
    ),
    `-A ${input} -p udp --dport ${VXLAN_PORT} ${vniMatch} -j DROP`,
    `-A ${input} -i ${vx} -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT`,
    `-A ${input} -i ${vx} -j DROP`,
    ...(jumps.filter ? [`-I FORWARD 1 -j ${forward}`, `-I INPUT 1 -j ${input}`] : []),
    "COMMIT",
    "*nat",
    `:${nat} - [0:0]`,
    `-A ${nat} -s ${spec.block} -d ${spec.block} -j ACCEPT`,
    ...(jumps.nat ? [`-I POSTROUTING 1 -j ${nat}`] : []),
    "COMMIT",
    "",
  ].join("\n");
}

async function ip(args: string[], allowFailure = false): Promise<string> {
  return (await runCommand("ip", args, { allowFailure })).stdout;
}

/** The MTU tasks' interfaces get: the datacenter link's (the default route's) less VXLAN's. */
export async function overlayMtu(): Promise<number> {
  const route = await ip(["-o", "-4", "route", "show", "default"], true);
  const dev = /\bdev (\S+)/.exec(route)?.[1];
  const link = dev === undefined ? "" : await ip(["-o", "link", "show", "dev", dev], true);
  const mtu = Number(/\bmtu (\d+)/.exec(link)?.[1] ?? 1500);
  return mtu - VXLAN_OVERHEAD;
}

/**
 * Makes (or brings up to date) the cluster's overlay. The rules are written whether or not it
 * has peers (a cluster alone on this host must not reach other clusters' subnets through the
 * datacenter link either); the device exists only while it has peers.
 */
export async function applyOverlay(spec: OverlaySpec, mtu: number): Promise<void> {
  const { forward, nat } = chains(spec.key);
  const filterJumped = (await listRules("filter", "FORWARD")).some(
    (r) => ruleValue(r, "-j") === forward,
  );
  const natJumped = (await listRules("nat", "POSTROUTING")).some((r) => ruleValue(r, "-j") === nat);
  await restoreRules("iptables", overlayRules(spec, { filter: !filterJumped, nat: !natJumped }));
  const vx = vxlanName(spec.key);
  if (spec.peers.length === 0) {
    await ip(["link", "del", vx], true);
    return;
  }
  const exists = (await ip(["-o", "link", "show", "dev", vx], true)) !== "";
  if (!exists) {
    await ip([
      "link",
      "add",
      vx,
      "type",
      "vxlan",
      "id",
      String(spec.vni),
      "local",
      spec.local,
      "dstport",
      String(VXLAN_PORT),
      "nolearning",
    ]);
    await ip(["link", "set", vx, "address", vtepMac(spec.subnet, spec.vni), "mtu", String(mtu)]);
    await ip(["addr", "add", `${vtepAddress(spec.subnet)}/32`, "dev", vx]);
    await ip(["link", "set", vx, "up"]);
  }
  const wanted = new Set<string>();
  for (const peer of spec.peers) {
    const vtep = vtepAddress(peer.subnet);
    const mac = vtepMac(peer.subnet, spec.vni);
    wanted.add(peer.subnet);
    await ip(["neigh", "replace", vtep, "lladdr", mac, "dev", vx, "nud", "permanent"]);
    await runCommand("bridge", [
      "fdb",
      "replace",
      mac,
      "dev",
      vx,
      "dst",
      peer.address,
      "self",
      "permanent",
    ]);
    await ip(["route", "replace", peer.subnet, "via", vtep, "dev", vx, "onlink"]);
  }
  // Peers that left: their routes, neighbours and FDB entries go.
  for (const line of (await ip(["-4", "route", "show", "dev", vx], true)).split("\n")) {
    const destination = line.split(" ")[0] ?? "";
    if (destination.includes("/") && !wanted.has(destination)) {
      await ip(["route", "del", destination, "dev", vx], true);
      await ip(["neigh", "del", vtepAddress(destination), "dev", vx], true);
      await runCommand("bridge", ["fdb", "del", vtepMac(destination, spec.vni), "dev", vx], {
        allowFailure: true,
      });
    }
  }
}

/** Removes the cluster's device (its routes, neighbours and FDB go with it) and its rules. */
export async function removeOverlay(key: string): Promise<void> {
  const { forward, input, nat } = chains(key);
  await ip(["link", "del", vxlanName(key)], true);
  await deleteRules("filter", "FORWARD", (r) => ruleValue(r, "-j") === forward);
  await deleteRules("filter", "INPUT", (r) => ruleValue(r, "-j") === input);
  await deleteRules("nat", "POSTROUTING", (r) => ruleValue(r, "-j") === nat);
  await deleteChain("filter", forward);
  await deleteChain("filter", input);
  await deleteChain("nat", nat);
}
