/**
 * A cluster bridge's forwarding and NAT, written once when the bridge is made instead of per
 * task: the bridge plugin's `ipMasq` made a nat chain and a POSTROUTING rule for every address,
 * and the firewall plugin rules in FORWARD for every address, each ADD and DEL paying for
 * several iptables processes. Here the bridge gets:
 *   - one MASQUERADE rule in nat POSTROUTING for its subnet leaving by any other interface
 *     (NAT to the outside; traffic between its own tasks is not rewritten);
 *   - a FORWARD chain of its own, jumped to for packets in from or out to the bridge: traffic
 *     within the bridge passes, traffic between it and any other Berth bridge (`bth+`, of this
 *     Berth or another on the machine) is dropped (the isolation rule), the tasks' own traffic
 *     out and replies back in pass; anything else falls through to the host's policy.
 * Same effect as the plugins' per-task rules, with a cost per launch of zero iptables calls.
 * Written with one `iptables-restore --noflush` per table, keyed to the bridge, so several
 * Berths on one machine never touch each other's rules.
 */
import { deleteChain, deleteRules, listRules, restoreRules, ruleValue } from "./iptables.js";

export interface ClusterFirewallSpec {
  /** The cluster's key (its bridge is `bth<key>`). */
  key: string;
  bridge: string;
  /** The cluster's subnet on this host (CIDR). */
  subnet: string;
}

/** Every Berth bridge, of any Berth on the machine (`BridgeTaskNetwork.bridgeName`). */
const ANY_BERTH_BRIDGE = "bth+";

export function clusterForwardChain(key: string): string {
  return `BERTH-FWD-${key}`;
}

/** The masquerade rule's comment: how removal finds it. */
function masqueradeComment(key: string): string {
  return `berth-masq-${key}`;
}

/** The `iptables-restore --noflush` input of the filter table; jumps only when missing. */
export function forwardRules(spec: ClusterFirewallSpec, jumps: boolean): string {
  const chain = clusterForwardChain(spec.key);
  return [
    "*filter",
    // Declaring the chain creates it, or empties it: the rules below are all.
    `:${chain} - [0:0]`,
    `-A ${chain} -i ${spec.bridge} -o ${spec.bridge} -j ACCEPT`,
    `-A ${chain} -i ${ANY_BERTH_BRIDGE} -o ${ANY_BERTH_BRIDGE} -j DROP`,
    `-A ${chain} -i ${spec.bridge} -j ACCEPT`,
    `-A ${chain} -o ${spec.bridge} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
    ...(jumps
      ? [`-I FORWARD 1 -i ${spec.bridge} -j ${chain}`, `-I FORWARD 1 -o ${spec.bridge} -j ${chain}`]
      : []),
    "COMMIT",
    "",
  ].join("\n");
}

/** The `iptables-restore --noflush` input of the nat table's one rule. */
export function masqueradeRules(spec: ClusterFirewallSpec): string {
  return [
    "*nat",
    `-A POSTROUTING -s ${spec.subnet} ! -o ${spec.bridge} ! -d 224.0.0.0/4 -m comment --comment ${masqueradeComment(spec.key)} -j MASQUERADE`,
    "COMMIT",
    "",
  ].join("\n");
}

function isJump(rule: string[], spec: { key: string }): boolean {
  return ruleValue(rule, "-j") === clusterForwardChain(spec.key);
}

function isMasquerade(rule: string[], spec: { key: string }): boolean {
  return ruleValue(rule, "--comment") === masqueradeComment(spec.key);
}

/** Makes the bridge's rules (idempotent: a restarted agent rewrites them, never twice). */
export async function applyClusterFirewall(spec: ClusterFirewallSpec): Promise<void> {
  const jumped = (await listRules("filter", "FORWARD")).filter((r) => isJump(r, spec)).length;
  if (jumped !== 0 && jumped !== 2) await deleteRules("filter", "FORWARD", (r) => isJump(r, spec));
  await restoreRules("iptables", forwardRules(spec, jumped !== 2));
  if (!(await listRules("nat", "POSTROUTING")).some((r) => isMasquerade(r, spec)))
    await restoreRules("iptables", masqueradeRules(spec));
}

/** Removes the bridge's rules (what is already gone is fine). */
export async function removeClusterFirewall(spec: { key: string }): Promise<void> {
  await deleteRules("filter", "FORWARD", (r) => isJump(r, spec));
  await deleteChain("filter", clusterForwardChain(spec.key));
  await deleteRules("nat", "POSTROUTING", (r) => isMasquerade(r, spec));
}
