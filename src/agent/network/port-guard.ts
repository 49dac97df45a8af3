/**
 * Anti-spoofing on a task's bridge port. The metadata endpoint knows a task only by the source
 * address of its request, and a task holds NET_RAW (Fargate grants it) or, under gVisor, a
 * user-space network stack that writes whole frames: without a guard it could claim another
 * task's IP in ARP (so the host answers it instead of the victim), send from that IP, or use the
 * victim's MAC (so the bridge sends it the victim's frames). So each task's port (the host side
 * of its veth) admits only ARP and IPv4 whose sender MAC and IP are the task's own, from the
 * task's MAC; everything else (other protocols, IPv6, VLAN tags) is dropped. The check sits in
 * the bridge's nat PREROUTING, before the bridge learns a source MAC: a frame dropped later
 * would already have taught the bridge a forged address. Written with one `ebtables-nft-restore`
 * (Debian's iptables package; named so, since the `ebtables` alternative may be the legacy
 * tool); one chain per task, keyed by agent and task.
 */
import { createHash } from "node:crypto";
import { runCommand } from "../runtime/index.js";
import { restoreRules } from "./iptables.js";

export interface PortGuardSpec {
  /** The chain's name (`portGuardChain`). */
  chain: string;
  /** The host side of the task's veth: its port on the bridge. */
  port: string;
  mac: string;
  ip: string;
}

/** A task's chain: unique per agent data dir and task, at most 31 characters (ebtables'). */
export function portGuardChain(agentDir: string, taskId: string): string {
  const hash = createHash("sha256").update(`${agentDir}\n${taskId}`).digest("hex");
  return `BERTH-PORT-${hash.slice(0, 16)}`;
}

/** The `ebtables-nft-restore --noflush` input that makes the chain and sends the port through it. */
export function portGuardRules(spec: PortGuardSpec): string {
  const { chain, mac, ip } = spec;
  return [
    "*nat",
    `:${chain} RETURN`,
    `-A ${chain} -p ARP -s ${mac} --arp-mac-src ${mac} --arp-ip-src ${ip} -j RETURN`,
    `-A ${chain} -p IPv4 -s ${mac} --ip-src ${ip} -j RETURN`,
    `-A ${chain} -j DROP`,
    `-A PREROUTING -i ${spec.port} -j ${chain}`,
    "COMMIT",
    "",
  ].join("\n");
}

export async function applyPortGuard(spec: PortGuardSpec, background = false): Promise<void> {
  await restoreRules("ebtables-nft", portGuardRules(spec), background);
}

/**
 * Removes a task's chain and whatever jumps to it (what is already gone is fine). With the
 * task's port known, as it is from the task's attachment record, both go in one commit without
 * listing every task's rules first; if that commit fails (part of it already gone), the rules
 * are listed and what is left is removed.
 */
export async function removePortGuard(chain: string, port?: string): Promise<void> {
  if (port !== undefined) {
    const { code } = await runCommand("ebtables-nft-restore", ["--noflush"], {
      input: [
        "*nat",
        `-D PREROUTING -i ${port} -j ${chain}`,
        `-F ${chain}`,
        `-X ${chain}`,
        "COMMIT",
        "",
      ].join("\n"),
      allowFailure: true,
    });
    if (code === 0) return;
  }
  const { stdout, code } = await runCommand("ebtables-nft", ["-t", "nat", "-L"], {
    allowFailure: true,
  });
  if (code !== 0) return;
  const lines = stdout.split("\n").map((line) => line.trim());
  const jumps = lines.filter((line) => line.startsWith("-i ") && line.endsWith(`-j ${chain}`));
  const exists = lines.some((line) => line.startsWith(`Bridge chain: ${chain},`));
  if (jumps.length === 0 && !exists) return;
  await restoreRules(
    "ebtables-nft",
    [
      "*nat",
      ...jumps.map((jump) => `-D PREROUTING ${jump}`),
      ...(exists ? [`-F ${chain}`, `-X ${chain}`] : []),
      "COMMIT",
      "",
    ].join("\n"),
  );
}
