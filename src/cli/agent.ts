/** `berth agent`: this machine offers its CPU and memory to a Berth control plane. */
import { mkdirSync } from "node:fs";
import { invalidArgument } from "./errors.js";
import { resolve } from "node:path";
import {
  checkHostCgroups,
  checkTaskCidr,
  requireTlsServer,
  ServerNotTrusted,
  startHostAgent,
  trustServer,
} from "../agent/index.js";
import { createLogger } from "../core/index.js";
import { defineCommand } from "./command.js";
import { defaultDataDir } from "./config.js";

function positiveInteger(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed <= 0)
    throw invalidArgument(`--${name} must be a positive whole number, not '${value}'`);
  return parsed;
}

export const agent = defineCommand({
  name: "agent",
  summary: "offer this host's CPU and memory to a Berth, which runs tasks here",
  usage: [
    "berth agent --server https://HOST:PORT[,...] [--token TOKEN --ca-cert-hash sha256:HEX] [options]",
  ],
  description:
    "`berth up` prints the line with a fresh token. Tasks outlive the agent: a restarted agent\non the same data dir adopts them.",
  flags: {
    server: {
      type: "string",
      value: "URL[,URL...]",
      help: "the Berth to join, https:// only; several servers of one store are tried in turn (default: $BERTH_SERVER)",
    },
    token: {
      type: "string",
      value: "TOKEN",
      help: "a join token from that Berth, needed to join only (default: $BERTH_AGENT_TOKEN)",
    },
    // The server's CA, pinned by the hash of its key (the join line carries it, as kubeadm's).
    "ca-cert-hash": {
      type: "string",
      value: "sha256:HEX",
      help: "the server's CA to trust, needed to join only (default: $BERTH_CA_CERT_HASH)",
    },
    "data-dir": {
      type: "string",
      value: "DIR",
      help: "where the agent keeps its tasks and images (default: ~/.berth/agent)",
    },
    "availability-zone": {
      type: "string",
      value: "AZ",
      default: "us-east-1a",
      help: "the zone this host is in (services spread across zones)",
    },
    cpu: {
      type: "string",
      value: "UNITS",
      help: "CPU units to offer (default: 1024 per core)",
    },
    memory: {
      type: "string",
      value: "MIB",
      help: "memory to offer (default: the host's, less a reserve)",
    },
    // Spot capacity may be reclaimed (`berth spot interrupt`); a host can offer both kinds.
    spot: { type: "boolean", help: "offer FARGATE_SPOT capacity instead of FARGATE" },
    "capacity-providers": {
      type: "string",
      value: "LIST",
      help: "FARGATE, FARGATE_SPOT or both, comma-separated",
    },
    // The pool each cluster's task subnet (/24) on this host is cut from.
    "task-cidr": {
      type: "string",
      value: "CIDR",
      help: "the pool of task subnets, one /24 per cluster, inside 100.64.0.0/10",
    },
    "log-level": {
      type: "string",
      value: "LEVEL",
      default: "info",
      help: "debug, info, warn or error",
    },
  },
  run: async ({ flags: values }, env) => {
    const server = values.server ?? env.BERTH_SERVER;
    const token = values.token ?? env.BERTH_AGENT_TOKEN;
    // The token is needed only to join; a joined host reconnects with its own credential.
    if (server === undefined) {
      throw invalidArgument("--server is required (use the join line `berth up` printed)");
    }
    // Several servers (`--server A,B,C`): the agent stays on one and moves on when it fails.
    const servers = server
      .split(",")
      .map((url) => url.trim())
      .filter((url) => url !== "");
    // What this host lacks is said before any server is asked anything.
    await checkHostCgroups();
    // Over TLS only, to the server whose CA the join line pins (see agent/server-trust.ts).
    const dataDir = resolve(values["data-dir"] ?? `${defaultDataDir(env)}/agent`);
    let serverCa: string;
    try {
      for (const url of servers) requireTlsServer(url);
      mkdirSync(dataDir, { recursive: true, mode: 0o700 });
      const caCertHash = values["ca-cert-hash"] ?? env.BERTH_CA_CERT_HASH;
      serverCa = (
        await trustServer({
          server: servers[0] ?? server,
          dataDir,
          ...(caCertHash === undefined ? {} : { caCertHash }),
        })
      ).caPem;
    } catch (error) {
      if (!(error instanceof ServerNotTrusted)) throw error;
      process.stderr.write(`berth agent: ${error.message}\n`);
      return error.code === "ServerNotEncrypted" || error.code === "ServerUrlInvalid" ? 2 : 1;
    }
    const badServer = servers.find((url) => !/^https?:\/\/[^/]+/.test(url));
    if (servers.length === 0 || badServer !== undefined)
      throw invalidArgument(
        `--server takes http(s)://HOST:PORT URLs separated by commas, not ${JSON.stringify(badServer ?? server)}`,
      );
    const level = values["log-level"];
    if (level !== "debug" && level !== "info" && level !== "warn" && level !== "error")
      throw invalidArgument("--log-level is one of debug, info, warn, error.");
    const cpu = positiveInteger("cpu", values.cpu);
    const memory = positiveInteger("memory", values.memory);
    const providers = (
      values["capacity-providers"] ?? (values.spot ? "FARGATE_SPOT" : "FARGATE")
    ).split(",");
    if (providers.some((p) => p !== "FARGATE" && p !== "FARGATE_SPOT"))
      throw invalidArgument("--capacity-providers is a list of FARGATE and FARGATE_SPOT.");
    const taskCidr = values["task-cidr"];
    const cidrProblem = taskCidr === undefined ? undefined : checkTaskCidr(taskCidr);
    if (cidrProblem !== undefined) throw invalidArgument(`--task-cidr ${cidrProblem}.`);
    const log = createLogger(level);
    let refusal: ((reason: string) => void) | undefined;
    const refused = new Promise<string>((resolveRefused) => (refusal = resolveRefused));
    const running = await startHostAgent({
      server: servers,
      serverCa,
      ...(token === undefined ? {} : { joinToken: token }),
      onRefused: (reason) => refusal?.(reason),
      dataDir,
      availabilityZone: values["availability-zone"],
      ...(cpu === undefined ? {} : { cpu }),
      ...(memory === undefined ? {} : { memory }),
      capacityProviders: providers as Array<"FARGATE" | "FARGATE_SPOT">,
      ...(taskCidr === undefined ? {} : { taskCidr }),
      log,
    });
    process.stdout.write(`berth agent ${running.hostId} is serving ${servers.join(", ")}\n`);
    let stop = (): void => undefined;
    const stopped = new Promise<void>((resolveStop) => {
      stop = (): void => resolveStop();
      process.on("SIGINT", stop);
      process.on("SIGTERM", stop);
    });
    const reason = await Promise.race([stopped.then(() => undefined), refused]);
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
    // Containers keep running: tasks are detached from the agent.
    await running.close();
    if (reason === undefined) return 0;
    process.stderr.write(`berth agent: the server refused host ${running.hostId}: ${reason}\n`);
    return 1;
  },
});
