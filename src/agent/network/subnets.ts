/**
 * Which subnet a cluster's tasks get on this host. The agent's pool (`--task-cidr`, default
 * 100.64.0.0/10, the shared address space no private network should be using) is cut into /24
 * subnets (or is one subnet when smaller); a cluster takes the first that no route on this
 * host already covers and that no other Berth on this machine has claimed. Claims are
 * directories under /run, made with mkdir (atomic), naming the agent that holds them, so that
 * several Berths (and several test runs) on one machine never pick the same subnet; a claim
 * whose agent data dir is gone is stale and taken over.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { runCommand } from "../runtime/index.js";

export const DEFAULT_TASK_CIDR = "100.64.0.0/10";
export const SUBNET_CLAIMS_DIR = "/run/berth/task-subnets";
const CLUSTER_PREFIX = 24;

export interface Cidr {
  /** The network address as an unsigned 32-bit number. */
  base: number;
  prefix: number;
}

export function parseIpv4(text: string): number | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return undefined;
    value = value * 256 + Number(part);
  }
  return value;
}

export function formatIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join(".");
}

/** Parses `a.b.c.d/n`; the address must be the network's own (no host bits set). */
export function parseCidr(text: string): Cidr | undefined {
  const [address, prefixText, ...rest] = text.split("/");
  if (address === undefined || prefixText === undefined || rest.length > 0) return undefined;
  const base = parseIpv4(address);
  const prefix = Number(prefixText);
  if (base === undefined || !/^\d{1,2}$/.test(prefixText) || prefix > 32) return undefined;
  if (base % size(prefix) !== 0) return undefined;
  return { base, prefix };
}

export function formatCidr(cidr: Cidr): string {
  return `${formatIpv4(cidr.base)}/${cidr.prefix}`;
}

function size(prefix: number): number {
  return 2 ** (32 - prefix);
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  return a.base < b.base + size(b.prefix) && b.base < a.base + size(a.prefix);
}

export function contains(cidr: Cidr, address: number): boolean {
  return address >= cidr.base && address < cidr.base + size(cidr.prefix);
}

/**
 * Checks a `--task-cidr`: inside 100.64.0.0/10 (task traffic must never be aimed at anyone's
 * real network) and with room for a gateway, a task and broadcast (/29 at the smallest).
 */
export function checkTaskCidr(text: string): string | undefined {
  const cidr = parseCidr(text);
  if (cidr === undefined) return `'${text}' is not an IPv4 network in CIDR form (a.b.c.d/n)`;
  const shared = parseCidr(DEFAULT_TASK_CIDR) as Cidr;
  if (cidr.prefix < shared.prefix || !contains(shared, cidr.base))
    return `'${text}' is not inside ${DEFAULT_TASK_CIDR}`;
  if (cidr.prefix > 29) return `'${text}' is too small: a /29 at the smallest`;
  return undefined;
}

/** The pool's cluster subnets, in order. */
export function* clusterSubnets(pool: Cidr): Generator<Cidr> {
  const prefix = Math.max(pool.prefix, CLUSTER_PREFIX);
  for (let base = pool.base; base < pool.base + size(pool.prefix); base += size(prefix))
    yield { base, prefix };
}

/** Networks the host already routes to (a subnet there would be shadowed or shadow it). */
async function routedNetworks(): Promise<Cidr[]> {
  const { stdout } = await runCommand("ip", ["-4", "route", "show", "table", "all"], {
    allowFailure: true,
  });
  const networks: Cidr[] = [];
  for (const line of stdout.split("\n")) {
    const destination = line.split(" ")[0] ?? "";
    if (destination === "default" || destination === "") continue;
    const [address, prefix] = destination.split("/");
    const base = parseIpv4(address ?? "");
    if (base === undefined) continue;
    const bits = prefix === undefined ? 32 : Number(prefix);
    networks.push({ base: base - (base % size(bits)), prefix: bits });
  }
  return networks;
}

function claimDir(subnet: Cidr): string {
  return join(SUBNET_CLAIMS_DIR, formatCidr(subnet).replace("/", "_"));
}

/** Claims the pool's first free subnet for `owner` (a directory that exists while the agent does). */
export async function claimSubnet(pool: Cidr, owner: string): Promise<Cidr | undefined> {
  mkdirSync(SUBNET_CLAIMS_DIR, { recursive: true });
  const routed = await routedNetworks();
  for (const subnet of clusterSubnets(pool)) {
    if (routed.some((network) => overlaps(network, subnet))) continue;
    const dir = claimDir(subnet);
    try {
      mkdirSync(dir);
    } catch {
      const holder = readOwner(dir);
      if (holder === owner) return subnet;
      if (holder === undefined || existsSync(holder)) continue;
      // The agent that claimed it is gone with its data dir: the claim is stale.
      rmSync(dir, { recursive: true, force: true });
      try {
        mkdirSync(dir);
      } catch {
        continue;
      }
    }
    writeFileSync(join(dir, "owner"), owner);
    return subnet;
  }
  return undefined;
}

export function releaseSubnet(subnet: Cidr, owner: string): void {
  const dir = claimDir(subnet);
  if (readOwner(dir) === owner) rmSync(dir, { recursive: true, force: true });
}

function readOwner(dir: string): string | undefined {
  try {
    return readFileSync(join(dir, "owner"), "utf8");
  } catch {
    return undefined;
  }
}
