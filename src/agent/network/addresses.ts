/**
 * Task addresses of one cluster network on this host, kept on disk as the CNI host-local plugin
 * (which handed them out before) kept them, so an agent goes on over a data dir either wrote:
 * under `<ipam dir>/<network>/` one file per address in use, named by the address and holding
 * its owner (`<id>\r\n<interface>`), and `last_reserved_ip.0`, the address last given, after
 * which the next search starts (round robin: an address just released is the last to be given
 * again, while ARP caches and connections may still name it). The file is made (O_EXCL) before
 * the address is used, and removed only once nothing uses it, so an address is never held by two
 * tasks whenever the agent is killed. Search and claim run without an await between them, and
 * one agent owns a data dir (core/data-dir-lock.ts): no other lock is needed.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BerthError, cidrSize, formatIpv4, parseIpv4, type Cidr } from "../../core/index.js";
import { NETWORK_SETUP_FAILED } from "./task-links.js";

const LAST = "last_reserved_ip.0";

/** Claims an address of `subnet` for `owner`: the first free one after the last given. */
export function takeAddress(dir: string, subnet: Cidr, owner: string, ifName: string): string {
  mkdirSync(dir, { recursive: true });
  // Tasks' addresses: all but the network, the gateway (its first address) and broadcast.
  const first = subnet.base + 2;
  const count = cidrSize(subnet.prefix) - 3;
  const last = parseIpv4(readText(join(dir, LAST)) ?? "");
  const start = last !== undefined && last >= first && last < first + count ? last - first + 1 : 0;
  for (let i = 0; i < count; i++) {
    const address = formatIpv4(first + ((start + i) % count));
    try {
      writeFileSync(join(dir, address), `${owner}\r\n${ifName}`, { flag: "wx" });
    } catch (error) {
      if ((error as { code?: unknown }).code === "EEXIST") continue;
      throw error;
    }
    writeFileSync(join(dir, LAST), address);
    return address;
  }
  throw new BerthError(NETWORK_SETUP_FAILED, "no free address left in the cluster's subnet", {
    fault: "server",
  });
}

/** Frees `owner`'s address (an address another holds stays theirs). */
export function releaseAddress(dir: string, address: string, owner: string): void {
  const file = join(dir, address);
  if (readText(file)?.split(/\r?\n/)[0]?.trim() === owner) rmSync(file, { force: true });
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}
