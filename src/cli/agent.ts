/** `berth agent`: this machine offers its CPU and memory to a Berth control plane. */
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { checkTaskCidr, startHostAgent } from "../agent/index.js";
import { createLogger } from "../core/index.js";
import { defaultDataDir } from "./config.js";

export const AGENT_USAGE =
  "Usage: berth agent --server URL [--token TOKEN] [--data-dir DIR] [--availability-zone us-east-1a] [--cpu UNITS --memory MIB] [--spot | --capacity-providers FARGATE,FARGATE_SPOT] [--task-cidr 100.64.0.0/10]";

function positiveInteger(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed <= 0)
    throw new Error(`--${name} must be a positive whole number, not '${value}'`);
  return parsed;
}

export async function agent(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      server: { type: "string" },
      token: { type: "string" },
      "data-dir": { type: "string" },
      "availability-zone": { type: "string", default: "us-east-1a" },
      cpu: { type: "string" },
      memory: { type: "string" },
      // Spot capacity may be reclaimed (`berth spot interrupt`); a host can offer both kinds.
      spot: { type: "boolean", default: false },
      "capacity-providers": { type: "string" },
      // The pool each cluster's task subnet (/24) on this host is cut from.
      "task-cidr": { type: "string" },
      "log-level": { type: "string", default: "info" },
    },
    strict: true,
  });
  const server = values.server ?? env.BERTH_SERVER;
  const token = values.token ?? env.BERTH_AGENT_TOKEN;
  // The token is needed only to join; a joined host reconnects with its own credential.
  if (server === undefined) {
    process.stderr.write(
      `berth agent: --server is required (use the join line \`berth up\` printed).\n${AGENT_USAGE}\n`,
    );
    return 2;
  }
  const level = values["log-level"];
  if (level !== "debug" && level !== "info" && level !== "warn" && level !== "error") {
    process.stderr.write("berth agent: --log-level is one of debug, info, warn, error.\n");
    return 2;
  }
  let cpu: number | undefined;
  let memory: number | undefined;
  try {
    cpu = positiveInteger("cpu", values.cpu);
    memory = positiveInteger("memory", values.memory);
  } catch (error) {
    process.stderr.write(`berth agent: ${(error as Error).message}\n`);
    return 2;
  }
  const providers = (
    values["capacity-providers"] ?? (values.spot ? "FARGATE_SPOT" : "FARGATE")
  ).split(",");
  if (providers.some((p) => p !== "FARGATE" && p !== "FARGATE_SPOT")) {
    process.stderr.write(
      "berth agent: --capacity-providers is a list of FARGATE and FARGATE_SPOT.\n",
    );
    return 2;
  }
  const taskCidr = values["task-cidr"];
  const cidrProblem = taskCidr === undefined ? undefined : checkTaskCidr(taskCidr);
  if (cidrProblem !== undefined) {
    process.stderr.write(`berth agent: --task-cidr ${cidrProblem}.\n`);
    return 2;
  }
  const log = createLogger(level);
  let refusal: ((reason: string) => void) | undefined;
  const refused = new Promise<string>((resolveRefused) => (refusal = resolveRefused));
  const running = await startHostAgent({
    server,
    ...(token === undefined ? {} : { joinToken: token }),
    onRefused: (reason) => refusal?.(reason),
    dataDir: resolve(values["data-dir"] ?? `${defaultDataDir(env)}/agent`),
    availabilityZone: values["availability-zone"],
    ...(cpu === undefined ? {} : { cpu }),
    ...(memory === undefined ? {} : { memory }),
    capacityProviders: providers as Array<"FARGATE" | "FARGATE_SPOT">,
    ...(taskCidr === undefined ? {} : { taskCidr }),
    log,
  });
  process.stdout.write(`berth agent ${running.hostId} is serving ${server}\n`);
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
}
