/**
 * Claims of task networks on this machine, and the agent's own pick for a server that hands out
 * no subnet (the control plane allocates them now: control/task-subnets.ts). The agent's pool
 * (`--task-cidr`, default 100.64.0.0/10, the shared address space no private network should be
 * using) is cut into /24
 * subnets (or is one subnet when smaller); a cluster takes the first that no route on this
 * host already covers and that no other Berth on this machine has claimed. Claims are
 * directories under /run, made with mkdir (atomic), naming the agent that holds them, so that
 * several Berths (and several test runs) on one machine never pick the same subnet; a claim
 * whose agent data dir is gone is stale and taken over.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import {
  cidrSize,
  contains,
  formatCidr,
  overlaps,
  parseCidr,
  parseIpv4,
  type Cidr,
} from "../../core/index.js";
import { runCommand } from "../runtime/index.js";

export const DEFAULT_TASK_CIDR = "100.64.0.0/10";
export const SUBNET_CLAIMS_DIR = "/run/berth/task-subnets";
const CLUSTER_PREFIX = 24;

export {
  contains,
  formatCidr,
  formatIpv4,
  overlaps,
  parseCidr,
  parseIpv4,
  type Cidr,
} from "../../core/index.js";

function size(prefix: number): number {
  return cidrSize(prefix);
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
  const routed = await routedNetworks();
  for (const subnet of clusterSubnets(pool)) {
    if (routed.some((network) => overlaps(network, subnet))) continue;
    if (claimNetwork(subnet, owner)) return subnet;
  }
  return undefined;
}

/**
 * Claims the first of `candidates` that no route on this machine covers and no other Berth
 * here holds (the server's per-cluster blocks: every Berth on one machine routes its own).
 */
export async function claimFreeNetwork(
  candidates: Iterable<Cidr>,
  owner: string,
): Promise<Cidr | undefined> {
  const routed = await routedNetworks();
  for (const network of candidates) {
    if (routed.some((route) => overlaps(route, network))) continue;
    if (claimNetwork(network, owner)) return network;
  }
  return undefined;
}

/**
 * Claims `network` for `owner` unless a live claim of another owner overlaps it (claims of
 * several sizes coexist: agents' /24s, servers' blocks). mkdir makes the claim atomic; the
 * overlap check after it means two racing claimants may both back off, never both win.
 */
function claimNetwork(network: Cidr, owner: string): boolean {
  mkdirSync(SUBNET_CLAIMS_DIR, { recursive: true });
  const dir = claimDir(network);
  try {
    mkdirSync(dir);
  } catch {
    const holder = readOwner(dir);
    if (holder === owner) return true;
    if (holder === undefined || existsSync(holder)) return false;
    // The Berth that claimed it is gone with its data dir: the claim is stale.
    rmSync(dir, { recursive: true, force: true });
    try {
      mkdirSync(dir);
    } catch {
      return false;
    }
  }
  writeFileSync(join(dir, "owner"), owner);
  for (const name of readdirSync(SUBNET_CLAIMS_DIR)) {
    const other = parseCidr(name.replace("_", "/"));
    if (other === undefined || name === basename(dir) || !overlaps(other, network)) continue;
    const holder = readOwner(join(SUBNET_CLAIMS_DIR, name));
    if (holder === owner || holder === undefined || !existsSync(holder)) continue;
    rmSync(dir, { recursive: true, force: true });
    return false;
  }
  return true;
}

export function releaseSubnet(subnet: Cidr, owner: string): void {
  const dir = claimDir(subnet);
  if (readOwner(dir) === owner) rmSync(dir, { recursive: true, force: true });
}

/**
 * Gives back every claim held by `dataDir` or by anything under it (its server's blocks, its
 * agent's subnets), before the dir is deleted: a claim whose owner is gone is only taken over
 * when another Berth wants that network, and until then it stays under /run. Released while
 * the owner still exists, no other Berth can be taking it over meanwhile.
 */
export function releaseClaimsOf(dataDir: string, claimsDir = SUBNET_CLAIMS_DIR): void {
  for (const name of claimsOf(dataDir, claimsDir))
    rmSync(join(claimsDir, name), { recursive: true, force: true });
}

/** The claims (their names under `claimsDir`) held by `dataDir` or by anything under it. */
export function claimsOf(dataDir: string, claimsDir = SUBNET_CLAIMS_DIR): string[] {
  const owner = resolve(dataDir);
  let names: string[];
  try {
    names = readdirSync(claimsDir);
  } catch {
    return [];
  }
  return names.filter((name) => {
    const holder = readOwner(join(claimsDir, name));
    return holder === owner || holder?.startsWith(`${owner}/`) === true;
  });
}

function readOwner(dir: string): string | undefined {
  try {
    return readFileSync(join(dir, "owner"), "utf8");
  } catch {
    return undefined;
  }
}
