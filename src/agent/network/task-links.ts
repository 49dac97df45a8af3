/**
 * The links of a cluster network on this host, made with iproute2 (what the CNI bridge plugin
 * did, without a plugin process per task): the cluster's bridge, whose address is the gateway,
 * made once; and per task a veth pair, its host side a hairpin port of the bridge and its other
 * side `eth0` in the task's namespace, given straight to it at creation. One `ip -batch` on the
 * host and one inside the namespace (addresses and routes can only be set from there) attach a
 * task; deleting the host side, which takes `eth0` with it, detaches it.
 */
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { BerthError } from "../../core/index.js";
import { runCommand } from "../runtime/index.js";

export const NETWORK_SETUP_FAILED = "NetworkSetupFailed";
export const IF_NAME = "eth0";

export interface BridgeSpec {
  bridge: string;
  /** The host's address on the bridge, and the subnet's prefix length. */
  gateway: string;
  prefix: number;
  /** The bridge's and tasks' MTU; the kernel's default when absent. */
  mtu?: number;
}

export interface TaskLinkSpec extends BridgeSpec {
  /** The task's network namespace file. */
  netnsPath: string;
  /** The host side of the task's veth: its port on the bridge. */
  port: string;
  mac: string;
  address: string;
  /** At the lowest CPU priority (made ahead of any task). */
  background?: boolean;
}

/** Makes the cluster's bridge if it is missing, gives it the gateway address and brings it up. */
export async function ensureBridge(spec: BridgeSpec): Promise<void> {
  const { bridge } = spec;
  const shown = await runCommand("ip", ["-o", "link", "show", "dev", bridge], {
    allowFailure: true,
  });
  // The bridge's MAC is the gateway's, which every task has in its ARP cache. A bridge whose
  // MAC was not set takes its lowest port's, so it changed whenever a port came or went (a
  // prepared sandbox made or removed), and tasks' frames to the old MAC were flooded instead of
  // reaching the host until their ARP entries aged out (tens of seconds without the metadata
  // endpoint). Set once, it stays: a new bridge gets its own, an older one keeps its current
  // (set again to itself, which pins it).
  const current = /link\/ether (\S+)/.exec(shown.stdout)?.[1];
  const pin =
    shown.code !== 0
      ? [`link add name ${bridge}${mtuOf(spec)} address ${randomMac()} type bridge`]
      : current === undefined
        ? []
        : [`link set dev ${bridge} address ${current}`];
  await ipBatch([
    ...pin,
    `addr replace ${spec.gateway}/${spec.prefix} dev ${bridge}`,
    `link set ${bridge} up`,
  ]);
  // The host routes for its tasks (the sandbox's namespace turns forwarding off for itself).
  writeFileSync("/proc/sys/net/ipv4/ip_forward", "1");
}

/** Gives the task its `eth0` on the bridge, with its address and default route. */
export async function addTaskLink(spec: TaskLinkSpec): Promise<void> {
  // A task reaches its own address through the bridge (what a load balancer target may do).
  await ipBatch(
    [
      `link add ${spec.port}${mtuOf(spec)} master ${spec.bridge} up type veth peer name ${IF_NAME}` +
        `${mtuOf(spec)} address ${spec.mac} netns ${quoted(spec.netnsPath)}`,
      `link set dev ${spec.port} type bridge_slave hairpin on`,
    ],
    undefined,
    spec.background,
  );
  await ipBatch(
    [
      `addr add ${spec.address}/${spec.prefix} dev ${IF_NAME}`,
      `link set ${IF_NAME} up`,
      `route add default via ${spec.gateway} dev ${IF_NAME}`,
    ],
    spec.netnsPath,
    spec.background,
  );
}

/** Removes a task's veth pair by its host side; what is already gone is fine. */
export async function removeTaskLink(port: string): Promise<void> {
  const { code, stderr } = await runCommand("ip", ["link", "del", "dev", port], {
    allowFailure: true,
  });
  if (code !== 0 && !stderr.includes("Cannot find device"))
    throw new BerthError(NETWORK_SETUP_FAILED, `removing ${port}: ${stderr.trim()}`, {
      fault: "server",
    });
}

/** A random unicast, locally administered MAC (as the kernel gives a veth). */
export function randomMac(): string {
  const bytes = randomBytes(6);
  bytes[0] = ((bytes[0] ?? 0) & 0xfe) | 0x02;
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join(":");
}

async function ipBatch(lines: string[], netnsPath?: string, background = false): Promise<void> {
  const [file, args] =
    netnsPath === undefined
      ? ["ip", ["-batch", "-"]]
      : ["nsenter", [`--net=${netnsPath}`, "ip", "-batch", "-"]];
  const { code, stderr } = await runCommand(file, args, {
    input: `${lines.join("\n")}\n`,
    allowFailure: true,
    background,
  });
  if (code !== 0)
    throw new BerthError(NETWORK_SETUP_FAILED, `ip: ${stderr.trim() || `exit ${code}`}`, {
      fault: "server",
    });
}

function mtuOf(spec: BridgeSpec): string {
  return spec.mtu === undefined ? "" : ` mtu ${spec.mtu}`;
}

/** A path as one word of `ip -batch` input. */
function quoted(path: string): string {
  if (/["\n]/.test(path))
    throw new BerthError(NETWORK_SETUP_FAILED, `unusable namespace path ${path}`, {
      fault: "server",
    });
  return `"${path}"`;
}
