/** The `berth` command: one binary, a subcommand each. Errors say what, why, and how to fix. */
import { BerthError } from "../core/index.js";
import { bill, BILL_USAGE } from "./bill.js";
import { clusters, status } from "./client-commands.js";
import { prices, PRICES_USAGE } from "./prices.js";
import { savingsPlans, SAVINGS_PLANS_USAGE } from "./savings-plans.js";
import { agent, AGENT_USAGE } from "./agent.js";
import { spot, SPOT_USAGE } from "./spot.js";
import { exec, EXEC_USAGE } from "./exec.js";
import { host, HOST_USAGE } from "./host.js";
import { logs, ps, run, stop } from "./task-commands.js";
import { tokens, TOKENS_USAGE } from "./tokens.js";
import { top, TOP_USAGE } from "./top.js";
import { up, UP_USAGE } from "./up.js";

const USAGE = `berth — serverless containers on your own machines (ECS, Fargate and ECR compatible)

Usage: berth <command> [options]

Commands:
  up          start the whole platform here, in the foreground
  agent       offer this host's CPU and memory to a Berth: the join line \`berth up\` printed
  tokens      list, create or revoke the join tokens agents join with
  spot        reclaim Spot capacity: berth spot interrupt [--host H | --fraction F]
  status      check that a Berth answers at --endpoint
  clusters    list the clusters
  bill        what compute cost, by usage type, service, cluster, family or tag
  prices      list or change the price book (Fargate and Spot prices)
  savings-plans  create, list or delete Compute Savings Plans
  run         run an image as a task and stream its output: berth run IMAGE [-- CMD...]
  ps          list tasks (-a: stopped ones too)
  stop        stop tasks: berth stop TASK...
  logs        a task's output: berth logs TASK [-f]
  exec        run a command in a running task: berth exec TASK [-i] [-t] -- CMD...
  top         services and tasks with CPU%, memory%, counts and requests/s, refreshing
  host        host clean: remove what a stopped Berth left on this host (containers, mounts, ...)
  help        show this text

Client commands reach a Berth at --endpoint or $BERTH_ENDPOINT (default http://127.0.0.1:4566)
with $BERTH_ACCESS_KEY_ID/$BERTH_SECRET_ACCESS_KEY, else $AWS_ACCESS_KEY_ID/$AWS_SECRET_ACCESS_KEY,
else the keys kept in the local data dir.

${UP_USAGE}

${AGENT_USAGE}

${TOKENS_USAGE}

${SPOT_USAGE}

${EXEC_USAGE}

${BILL_USAGE}

${PRICES_USAGE}

${SAVINGS_PLANS_USAGE}

${TOP_USAGE}

${HOST_USAGE}
`;

type Command = (argv: string[], env: NodeJS.ProcessEnv) => Promise<number>;

const COMMANDS: Record<string, Command> = {
  bill,
  prices,
  "savings-plans": savingsPlans,
  up,
  agent,
  spot,
  tokens,
  status,
  clusters,
  run,
  ps,
  stop,
  logs,
  exec,
  top,
  host,
};

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    process.stdout.write(USAGE);
    return name === undefined ? 2 : 0;
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (command === undefined) {
    process.stderr.write(`berth: unknown command '${name}'. Run \`berth help\` for the list.\n`);
    return 2;
  }
  try {
    return await command(rest, env);
  } catch (error) {
    if (error instanceof BerthError) {
      process.stderr.write(`berth ${name}: ${error.message}\n`);
      return 1;
    }
    if (
      error instanceof TypeError &&
      "code" in error &&
      String(error.code).startsWith("ERR_PARSE_ARGS")
    ) {
      process.stderr.write(`berth ${name}: ${error.message}. Run \`berth help\` for usage.\n`);
      return 2;
    }
    if (error instanceof Error && "code" in error && error.code === "EADDRINUSE") {
      process.stderr.write(
        `berth ${name}: the port is already in use; is another Berth running? Pick another with --port.\n`,
      );
      return 1;
    }
    const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
    process.stderr.write(`berth ${name}: ${text}\n`);
    return 1;
  }
}
