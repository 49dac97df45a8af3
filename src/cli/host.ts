/**
 * `berth host clean [--data-dir DIR]`: removes everything a Berth's host left behind under a
 * data dir — containers (killed if they still run), sandboxes and their cgroups and network
 * namespaces, task storage mounts and loop devices, task bridges, iptables rules, subnet
 * claims — as `purgeHost` does for tests. Tasks outlive `berth up` by design, so this is how a
 * host is decommissioned. It refuses while a Berth uses the dir, holding the dir's lock
 * meanwhile so that none starts on it.
 */
import { existsSync } from "node:fs";
import { invalidArgument } from "./errors.js";
import { join, resolve } from "node:path";
import { purgeHost } from "../agent/index.js";
import { createLogger, lockDataDir, type DataDirLock } from "../core/index.js";
import { defineCommand } from "./command.js";
import { defaultDataDir } from "./config.js";

export const host = defineCommand({
  name: "host",
  summary: "clean up what a Berth left on this host (containers, namespaces, mounts, rules)",
  usage: ["berth host clean [--data-dir DIR]"],
  description: [
    "Stops and removes every task container, namespace, mount, bridge, rule and subnet claim that",
    "the Berth of DIR left on this host (DIR is a `berth up` data dir, or a `berth agent` one).",
    "Refused while a Berth uses DIR.",
  ].join("\n"),
  flags: {
    "data-dir": {
      type: "string",
      value: "DIR",
      help: "the data dir whose host state goes (default: $BERTH_DATA_DIR, else ~/.berth)",
    },
  },
  positionals: true,
  run: async ({ flags: values, positionals }, env) => {
    if (positionals[0] !== "clean" || positionals.length !== 1)
      throw invalidArgument("the one subcommand is clean: berth host clean");
    const dataDir = resolve(values["data-dir"] ?? defaultDataDir(env));
    if (!existsSync(dataDir)) {
      process.stdout.write(`Nothing to clean: ${dataDir} does not exist.\n`);
      return 0;
    }
    // A `berth up` dir keeps its local agent's host state in DIR/agent; an agent's dir is DIR.
    const agentDir = existsSync(join(dataDir, "agent", "host-id"))
      ? join(dataDir, "agent")
      : dataDir;
    const locks: DataDirLock[] = [];
    try {
      locks.push(lockDataDir(dataDir));
      if (agentDir !== dataDir) locks.push(lockDataDir(agentDir));
      await purgeHost(agentDir, createLogger("warn"));
    } finally {
      for (const lock of locks.reverse()) lock.release();
    }
    process.stdout.write(`Cleaned what the Berth of ${dataDir} left on this host.\n`);
    return 0;
  },
});
