/**
 * The `berth` command: one binary, a subcommand each, each declared once (`defineCommand`) with
 * its usage and flags. Here: `berth help [NAME]`, `NAME --help`, and one-line errors for all.
 */
import { agent } from "./agent.js";
import { bill } from "./bill.js";
import { clusters, status } from "./client-commands.js";
import { asksForHelp, type Command } from "./command.js";
import { resolveEndpoint } from "./config.js";
import { describeFailure } from "./errors.js";
import { exec } from "./exec.js";
import { host } from "./host.js";
import { image } from "./image.js";
import { prices } from "./prices.js";
import { run } from "./run.js";
import { savingsPlans } from "./savings-plans.js";
import { consoleCommand } from "./console.js";
import { spot } from "./spot.js";
import { logs, ps, stop } from "./task-commands.js";
import { tokens } from "./tokens.js";
import { top } from "./top.js";
import { up } from "./up.js";

/** Every command, in the order `berth help` lists them. */
const COMMANDS: Command[] = [
  up,
  agent,
  tokens,
  status,
  clusters,
  image,
  run,
  ps,
  logs,
  exec,
  stop,
  top,
  bill,
  prices,
  savingsPlans,
  spot,
  consoleCommand,
  host,
];

function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return `berth — serverless containers on your own machines (ECS, Fargate and ECR compatible)

Usage: berth <command> [options]

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join("\n")}
  ${"help".padEnd(width)}  this text

Run \`berth help COMMAND\` (or \`berth COMMAND --help\`) for a command's options.

Client commands reach a Berth at --endpoint or $BERTH_ENDPOINT (default http://127.0.0.1:4566)
with $BERTH_ACCESS_KEY_ID/$BERTH_SECRET_ACCESS_KEY, else $AWS_ACCESS_KEY_ID/$AWS_SECRET_ACCESS_KEY,
else the keys kept in the local data dir (--data-dir, default ~/.berth).
`;
}

function find(name: string): Command | undefined {
  return COMMANDS.find((c) => c.name === name);
}

function unknown(name: string): number {
  process.stderr.write(`berth: unknown command '${name}'. Run \`berth help\` for the list.\n`);
  return 2;
}

/** The endpoint a client command talks to, for an error that says it is not there. */
function endpointIn(argv: string[], env: NodeJS.ProcessEnv): string {
  let endpoint: string | undefined;
  argv.forEach((arg, i) => {
    if (arg === "--endpoint") endpoint = argv[i + 1];
    else if (arg.startsWith("--endpoint=")) endpoint = arg.slice("--endpoint=".length);
  });
  return resolveEndpoint(endpoint === undefined ? {} : { endpoint }, env);
}

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    process.stderr.write(overview());
    return 2;
  }
  if (name === "help" || name === "--help" || name === "-h") {
    const [topic] = rest;
    if (topic === undefined) {
      process.stdout.write(overview());
      return 0;
    }
    const command = find(topic);
    if (command === undefined) return unknown(topic);
    process.stdout.write(command.help());
    return 0;
  }
  const command = find(name);
  if (command === undefined) return unknown(name);
  if (asksForHelp(rest)) {
    process.stdout.write(command.help());
    return 0;
  }
  try {
    return await command.execute(rest, env);
  } catch (error) {
    const { line, exitCode } = describeFailure(error, {
      command: name,
      endpoint: endpointIn(rest, env),
      debug: env.BERTH_DEBUG !== undefined && env.BERTH_DEBUG !== "" && env.BERTH_DEBUG !== "0",
    });
    process.stderr.write(`${line}\n`);
    return exitCode;
  }
}
