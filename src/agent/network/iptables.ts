/**
 * Reading, writing and deleting iptables rules: Berth's own chains (the host guard) are
 * written in one `iptables-restore --noflush` each (one process, one atomic commit), and what
 * a cluster network left behind is removed when its bridge goes: the CNI plugins undo a task's
 * rules at DEL, but the firewall plugin keeps a bridge's isolation rules for as long as
 * anything may use it, and a DEL whose namespace was already gone cannot find the masquerade
 * chain. Rules are matched on `iptables -S` lines.
 */
import { runCommand } from "../runtime/index.js";

export type Table = "filter" | "nat";
export type IpFamily = 4 | 6;

function tool(family: IpFamily): string {
  return family === 4 ? "iptables" : "ip6tables";
}

/**
 * Applies `text` with `<command>-restore --noflush` (iptables, ip6tables or ebtables-nft),
 * tried again a few times: another program's commit at the same moment can make nftables
 * refuse ours.
 */
export async function restoreRules(
  command: "iptables" | "ip6tables" | "ebtables-nft",
  text: string,
  background = false,
): Promise<void> {
  const args = command === "ebtables-nft" ? ["--noflush"] : ["-w", "--noflush"];
  for (let attempt = 1; attempt < 3; attempt++) {
    const { code } = await runCommand(`${command}-restore`, args, {
      input: text,
      allowFailure: true,
      background,
    });
    if (code === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 20 * attempt));
  }
  // The last try's failure is the caller's, with the tool's own message.
  await runCommand(`${command}-restore`, args, { input: text, background });
}

/** The `-A CHAIN ...` lines of a chain, split into arguments; empty when there is no chain. */
export async function listRules(
  table: Table,
  chain: string,
  family: IpFamily = 4,
): Promise<string[][]> {
  const { stdout, code } = await runCommand(tool(family), ["-w", "-t", table, "-S", chain], {
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
  family: IpFamily = 4,
): Promise<string[][]> {
  const doomed = (await listRules(table, chain, family)).filter(match);
  for (const rule of doomed) {
    await runCommand(tool(family), ["-w", "-t", table, "-D", ...rule.slice(1)], {
      allowFailure: true,
    });
  }
  return doomed;
}

/** Flushes and deletes a chain (nothing may jump to it any more). */
export async function deleteChain(
  table: Table,
  chain: string,
  family: IpFamily = 4,
): Promise<void> {
  await runCommand(tool(family), ["-w", "-t", table, "-F", chain], { allowFailure: true });
  await runCommand(tool(family), ["-w", "-t", table, "-X", chain], { allowFailure: true });
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
