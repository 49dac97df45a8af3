/**
 * IPv4 network arithmetic, shared by the control plane (which hands out task subnets) and the
 * agent (which sets them up). Addresses are unsigned 32-bit numbers.
 */

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
  if (base % cidrSize(prefix) !== 0) return undefined;
  return { base, prefix };
}

export function formatCidr(cidr: Cidr): string {
  return `${formatIpv4(cidr.base)}/${cidr.prefix}`;
}

/** How many addresses a network of this prefix holds. */
export function cidrSize(prefix: number): number {
  return 2 ** (32 - prefix);
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  return a.base < b.base + cidrSize(b.prefix) && b.base < a.base + cidrSize(a.prefix);
}

export function contains(cidr: Cidr, address: number): boolean {
  return address >= cidr.base && address < cidr.base + cidrSize(cidr.prefix);
}

/** `outer`'s networks of `prefix` (or `outer` itself when it is smaller), in order. */
export function* subnetsOf(outer: Cidr, prefix: number): Generator<Cidr> {
  const step = Math.max(outer.prefix, prefix);
  for (let base = outer.base; base < outer.base + cidrSize(outer.prefix); base += cidrSize(step))
    yield { base, prefix: step };
}
