/**
 * A container's /etc/resolv.conf, made from the host's as Docker makes it: the same search
 * domains, options and name servers, less those on loopback (the host's 127.0.0.53 is not
 * reachable from a task's own network namespace). Tasks reach the rest through their NAT.
 */
import { readFile } from "node:fs/promises";

export function taskResolvConf(hostText: string): string {
  const kept = hostText.split("\n").filter((line) => {
    const [keyword, value = ""] = line.trim().split(/\s+/);
    if (keyword !== "nameserver") return keyword === "search" || keyword === "options";
    return !value.startsWith("127.") && value !== "::1";
  });
  return kept.length === 0 ? "" : `${kept.join("\n")}\n`;
}

export async function readTaskResolvConf(path = "/etc/resolv.conf"): Promise<string> {
  return taskResolvConf(await readFile(path, "utf8").catch(() => ""));
}
