/**
 * What a cluster's tasks may reach on the host itself. A packet from a task to any of the
 * host's addresses (its own gateway, another cluster's gateway, the host's LAN address) enters
 * the host's INPUT chain from the cluster's bridge, where every service listening on a wildcard
 * address (Berth's API and agent channel on 0.0.0.0, an operator's sshd) would answer it. So
 * INPUT from the bridge jumps to a chain of the cluster's own that accepts only replies to
 * connections the host opened (a load balancer's, a health check's) and TCP to the agent's
 * ports on the cluster's own gateway (the task metadata endpoint), and drops everything else,
 * IPv6 included. The AWS SDKs fetch task role credentials only from 169.254.170.2 (port 80),
 * so TCP from the bridge to that address is rewritten (nat PREROUTING, DNAT) to the metadata
 * port on the cluster's own gateway, which the chain accepts: each bridge leads to its own
 * agent, so several Berths on a machine each serve their own tasks there, and the source
 * address (what the endpoint answers by) is untouched. The rules are keyed to the bridge, so several Berths on one machine (and
 * their tests) never touch each other's, and no shared chain is ever flushed.
 */
import { restoreRules, listRules, ruleValue, deleteRules, deleteChain } from "./iptables.js";

export interface HostGuardSpec {
  /** The cluster's key (its bridge is `bth<key>`). */
  key: string;
  bridge: string;
  gateway: string;
  /** TCP ports the agent serves tasks on the gateway. */
  tcpPorts: number[];
  /** The gateway port 169.254.170.2:80 is rewritten to (the metadata endpoint's). */
  linkLocalPort?: number;
}

/** ECS's task metadata and credentials address, the same in every task. */
export const TASK_METADATA_ADDRESS = "169.254.170.2";

function linkLocalComment(key: string): string {
  return `berth-md-${key}`;
}

/** The `iptables-restore --noflush` input of the DNAT of 169.254.170.2:80 to the gateway. */
export function linkLocalRules(spec: HostGuardSpec & { linkLocalPort: number }): string {
  return [
    "*nat",
    `-A PREROUTING -i ${spec.bridge} -d ${TASK_METADATA_ADDRESS}/32 -p tcp -m tcp --dport 80 -m comment --comment ${linkLocalComment(spec.key)} -j DNAT --to-destination ${spec.gateway}:${spec.linkLocalPort}`,
    "COMMIT",
    "",
  ].join("\n");
}

function isLinkLocal(rule: string[], key: string): boolean {
  return ruleValue(rule, "--comment") === linkLocalComment(key);
}

/** The chain INPUT jumps to for packets from the cluster's bridge (both IP families). */
export function hostGuardChain(key: string): string {
  return `BERTH-IN-${key}`;
}

/**
 * The `iptables-restore --noflush` input that (re)writes the guard's chain; with `jump`, it
 * also puts the jump from INPUT first (it is not there yet).
 */
export function hostGuardRules(spec: HostGuardSpec, family: 4 | 6, jump: boolean): string {
  const chain = hostGuardChain(spec.key);
  const lines = [
    "*filter",
    // Declaring the chain creates it, or empties it when it exists: the rules below are all.
    `:${chain} - [0:0]`,
    `-A ${chain} -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT`,
    ...(family === 4
      ? [...new Set(spec.tcpPorts)].map(
          (port) => `-A ${chain} -d ${spec.gateway}/32 -p tcp -m tcp --dport ${port} -j ACCEPT`,
        )
      : []),
    `-A ${chain} -j DROP`,
    ...(jump ? [`-I INPUT 1 -i ${spec.bridge} -j ${chain}`] : []),
    "COMMIT",
    "",
  ];
  return lines.join("\n");
}

function isJump(rule: string[], spec: { bridge: string; key: string }): boolean {
  return (
    ruleValue(rule, "-i") === spec.bridge && ruleValue(rule, "-j") === hostGuardChain(spec.key)
  );
}

/** Makes the cluster's guard as the spec says (idempotent: an agent restart rewrites it). */
export async function applyHostGuard(spec: HostGuardSpec): Promise<void> {
  for (const family of [4, 6] as const) {
    const jumped = (await listRules("filter", "INPUT", family)).some((r) => isJump(r, spec));
    await restoreRules(
      family === 4 ? "iptables" : "ip6tables",
      hostGuardRules(spec, family, !jumped),
    );
  }
  // Rewritten, not added twice: a restarted agent may have another gateway port.
  await deleteRules("nat", "PREROUTING", (r) => isLinkLocal(r, spec.key));
  if (spec.linkLocalPort !== undefined)
    await restoreRules("iptables", linkLocalRules({ ...spec, linkLocalPort: spec.linkLocalPort }));
}

/** Removes the cluster's guard (what is already gone is fine). */
export async function removeHostGuard(spec: { key: string; bridge: string }): Promise<void> {
  for (const family of [4, 6] as const) {
    await deleteRules("filter", "INPUT", (r) => isJump(r, spec), family);
    await deleteChain("filter", hostGuardChain(spec.key), family);
  }
  await deleteRules("nat", "PREROUTING", (r) => isLinkLocal(r, spec.key));
}
