/**
 * Reading and deleting iptables rules, for removing what a cluster network left behind when
 * its bridge goes: the CNI plugins undo a task's rules at DEL, but the firewall plugin keeps a
 * bridge's isolation rules for as long as anything may use it, and a DEL whose namespace was
 * already gone cannot find the masquerade chain. Rules are matched on `iptables -S` lines.
 */
import { runCommand } from "../runtime/index.js";

export type Table = "filter" | "nat";

/** The `-A CHAIN ...` lines of a chain, split into arguments; empty when there is no chain. */
export async function listRules(table: Table, chain: string): Promise<string[][]> {
  const { stdout, code } = await runCommand("iptables", ["-w", "-t", table, "-S", chain], {
    allowFailure: true,
  });
  if (code !== 0) return [];
  return stdout
    .split("\n")
    .filter((line) => line.startsWith("-A "))
    .map(splitRule);
}

/** Deletes the chain's rules that `match` picks; returns them. */
export async function deleteRules(
  table: Table,
  chain: string,
  match: (rule: string[]) => boolean,
): Promise<string[][]> {
  const doomed = (await listRules(table, chain)).filter(match);
  for (const rule of doomed) {
    await runCommand("iptables", ["-w", "-t", table, "-D", ...rule.slice(1)], {
      allowFailure: true,
    });
  }
  return doomed;
}

/** Flushes and deletes a chain (nothing may jump to it any more). */
export async function deleteChain(table: Table, chain: string): Promise<void> {
  await runCommand("iptables", ["-w", "-t", table, "-F", chain], { allowFailure: true });
  await runCommand("iptables", ["-w", "-t", table, "-X", chain], { allowFailure: true });
}

/** The value after `flag` in a rule (`-j`, `-s`, `--comment` ...). */
export function ruleValue(rule: string[], flag: string): string | undefined {
  const index = rule.indexOf(flag);
  return index < 0 ? undefined : rule[index + 1];
}

/** Splits one `iptables -S` line as a shell would: double quotes group, `\"` escapes. */
export function splitRule(line: string): string[] {
  const args: string[] = [];
  let current = "";
  let quoted = false;
  let started = false;
  for (let i = 0; i < line.length; i++) {
    const char = line[i] as string;
    if (char === "\\" && i + 1 < line.length) {
      current += line[++i];
      started = true;
    } else if (char === '"') {
      quoted = !quoted;
      started = true;
    } else if (char === " " && !quoted) {
      if (started) args.push(current);
      current = "";
      started = false;
    } else {
      current += char;
      started = true;
    }
  }
  if (started) args.push(current);
  return args;
}
