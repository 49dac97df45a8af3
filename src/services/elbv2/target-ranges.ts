/**
 * Which addresses an `ip` target group may send traffic to. AWS takes only addresses of the
 * VPC's subnets (and RFC 1918 / RFC 6598 ranges); Berth has no VPCs, so the ranges are the task
 * subnets (`--task-cidr`, default 100.64.0.0/10) plus what the operator lists explicitly
 * (`berth up --elb-target-cidr`, e.g. 127.0.0.1/32 for a process on the host). Everything else
 * — the cloud metadata address, loopback, 0.0.0.0, broadcast, the host's other networks — would
 * let a tenant point Berth's proxy, which runs on the host, at what only the host may reach.
 */
import { BlockList, isIPv4 } from "node:net";

export const DEFAULT_TARGET_CIDRS: readonly string[] = ["100.64.0.0/10"];

/** Never a target, whatever the operator lists: "this network", link-local, multicast, broadcast. */
const NEVER = new BlockList();
NEVER.addSubnet("0.0.0.0", 8, "ipv4");
NEVER.addSubnet("169.254.0.0", 16, "ipv4");
NEVER.addSubnet("224.0.0.0", 4, "ipv4");
NEVER.addSubnet("240.0.0.0", 4, "ipv4");

interface Range {
  network: number;
  prefix: number;
}

const toNumber = (address: string): number =>
  address.split(".").reduce((value, octet) => value * 256 + Number(octet), 0);

/** "a.b.c.d/n" -> a range, or undefined when it is not one. */
export function parseTargetCidr(text: string): Range | undefined {
  const match = /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})$/.exec(text.trim());
  if (match === null || !isIPv4(match[1] ?? "")) return undefined;
  const prefix = Number(match[2]);
  if (prefix > 32) return undefined;
  const size = 2 ** (32 - prefix);
  return { network: toNumber(match[1] ?? "") - (toNumber(match[1] ?? "") % size), prefix };
}

export class TargetRanges {
  readonly #ranges: Range[];
  readonly cidrs: readonly string[];

  constructor(cidrs: readonly string[] = DEFAULT_TARGET_CIDRS) {
    this.cidrs = cidrs;
    this.#ranges = cidrs.map((cidr) => {
      const range = parseTargetCidr(cidr);
      if (range === undefined) throw new Error(`not an IPv4 CIDR: ${cidr}`);
      return range;
    });
  }

  /** Whether `address` may be a target: inside a range, and not its network or broadcast. */
  allows(address: string): boolean {
    if (!isIPv4(address) || NEVER.check(address, "ipv4")) return false;
    const value = toNumber(address);
    return this.#ranges.some(({ network, prefix }) => {
      const size = 2 ** (32 - prefix);
      if (value < network || value >= network + size) return false;
      // A /31 or /32 has no network or broadcast address to keep out.
      return size <= 2 || (value !== network && value !== network + size - 1);
    });
  }
}
