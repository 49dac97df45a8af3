/** `berth up`: the whole platform on this machine, in the foreground, until Ctrl-C. */
import { resolve } from "node:path";
import { invalidArgument } from "./errors.js";
import { checkTaskCidr } from "../agent/index.js";
import { createLogger } from "../core/index.js";
import { parseTargetCidr } from "../services/elbv2/index.js";
import {
  startBerth,
  DEFAULT_PORT,
  type JoinTokenInfo,
  type RunningBerth,
} from "../server/index.js";
import { defineCommand } from "./command.js";
import { DEFAULT_ENDPOINT, defaultDataDir } from "./config.js";
import { parseDuration } from "./duration.js";

function banner(
  berth: RunningBerth,
  dataDir: string,
  region: string,
  accountId: string,
  join: { token: string; info: JoinTokenInfo },
  consoleLink: string,
): string {
  const { accessKeyId, secretAccessKey } = berth.credentials;
  const where =
    berth.credentialsSource === "environment"
      ? "from the environment"
      : `kept in ${dataDir}/credentials.json`;
  return [
    "",
    `Berth is up at ${berth.endpoint}`,
    "",
    `  region          ${region}`,
    `  account         ${accountId}`,
    `  access key id   ${accessKeyId}`,
    `  secret key      ${secretAccessKey}   (${where})`,
    `  data dir        ${dataDir}`,
    `  console         ${berth.endpoint}/console   (sign in with the key and secret above)`,
    `  sign-in link    ${consoleLink}`,
    "                  (works once, for 5 minutes; `berth console` opens a new one)",
    "",
    "Use it with the AWS CLI and `berth` (paste in another shell):",
    `  export AWS_ACCESS_KEY_ID=${accessKeyId} AWS_SECRET_ACCESS_KEY=${secretAccessKey} AWS_DEFAULT_REGION=${region}`,
    // `berth` finds the default endpoint by itself; any other must be told.
    ...(berth.endpoint === DEFAULT_ENDPOINT ? [] : [`  export BERTH_ENDPOINT=${berth.endpoint}`]),
    `  aws --endpoint-url ${berth.endpoint} ecs create-cluster --cluster-name demo`,
    "",
    berth.localAgent === undefined
      ? "This machine runs no tasks (--no-local-agent)."
      : `This machine runs tasks (host ${berth.localAgent.hostId}).`,
    "Add another host (the server must listen where it can reach, see --host):",
    `  ${berth.joinCommand(join.token)}`,
    join.info.expiresAt === undefined
      ? "  (the token never expires; `berth tokens` lists, creates and revokes tokens)"
      : `  (the token expires at ${join.info.expiresAt.toISOString()}; \`berth tokens create\` makes more)`,
    "",
    "Press Ctrl-C to stop.",
    "",
  ].join("\n");
}

export const up = defineCommand({
  name: "up",
  summary: "start the whole platform here, in the foreground, until Ctrl-C",
  usage: ["berth up [options]"],
  description: [
    "API, registry, control plane and this machine's agent on one port, state in the data dir.",
    "It prints its endpoint, credentials and the line that joins more hosts.",
  ].join("\n"),
  flags: {
    host: {
      type: "string",
      value: "ADDRESS",
      default: "127.0.0.1",
      help: "the address to listen on",
    },
    port: {
      type: "string",
      value: "PORT",
      default: String(DEFAULT_PORT),
      help: "the port (0: any free one)",
    },
    "data-dir": {
      type: "string",
      value: "DIR",
      help: "where everything Berth keeps lives (default: $BERTH_DATA_DIR, else ~/.berth)",
    },
    // Where state lives: a postgres:// URL (several servers share it), default SQLite.
    store: {
      type: "string",
      value: "URL",
      help: "postgres://USER@HOST/DB: state in PostgreSQL, shared by servers (default: $BERTH_STORE, else SQLite in the data dir)",
    },
    "blob-dir": {
      type: "string",
      value: "DIR",
      help: "registry blobs: a directory every server of one store shares (default: in the data dir)",
    },
    region: { type: "string", value: "REGION", default: "us-east-1", help: "the region in ARNs" },
    "account-id": {
      type: "string",
      value: "ID",
      default: "000000000000",
      help: "the 12-digit account in ARNs",
    },
    "log-level": {
      type: "string",
      value: "LEVEL",
      default: "info",
      help: "debug, info, warn or error",
    },
    "registry-auto-create": {
      type: "boolean",
      help: "a push to a missing repository creates it (ECR refuses it)",
    },
    // This machine runs tasks too unless told otherwise (then only `berth agent` hosts do).
    "no-local-agent": {
      type: "boolean",
      help: "run no tasks here; only hosts joined with `berth agent` do",
    },
    "host-timeout-seconds": {
      type: "string",
      value: "SECONDS",
      default: "30",
      help: "a host silent this long is lost; its tasks start elsewhere (at least 3)",
    },
    "spot-warning-seconds": {
      type: "string",
      value: "SECONDS",
      default: "120",
      help: "warning before a Spot task is interrupted",
    },
    "spot-interruptions-per-hour": {
      type: "string",
      value: "N",
      default: "0",
      help: "interrupt Spot tasks at random, this many an hour",
    },
    // The pool each cluster's task subnet (/24) on this host is cut from.
    "task-cidr": {
      type: "string",
      value: "CIDR",
      help: "the pool of task subnets, one /24 per cluster, inside 100.64.0.0/10 (default: all of it)",
    },
    // Where load balancer listeners bind (their DNS names, *.elb.localhost, are loopback).
    "elb-address": {
      type: "string",
      value: "ADDRESS",
      default: "127.0.0.1",
      help: "where load balancer listeners listen",
    },
    // Ranges besides the task subnets that ELB ip targets may be in (e.g. 127.0.0.1/32).
    "elb-target-cidr": {
      type: "string",
      multiple: true,
      value: "CIDR",
      help: "a range besides the task subnets that load balancer ip targets may be in",
    },
    "metric-period-seconds": {
      type: "string",
      value: "SECONDS",
      default: "60",
      help: "one metric datapoint per period; alarms and cooldowns follow it",
    },
    // How long the join token in the banner is good for (kubeadm's default; 0: never expires).
    "join-token-ttl": {
      type: "string",
      value: "DURATION",
      default: "24h",
      help: "how long the join token in the banner is good for, e.g. 24h, 30m (0: never expires)",
    },
  },
  run: async ({ flags: values }, env) => {
    const port = Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw invalidArgument(`--port must be a number from 0 to 65535, not '${values.port}'.`);
    if (!/^\d{12}$/.test(values["account-id"]))
      throw invalidArgument(`--account-id must be 12 digits, not '${values["account-id"]}'.`);
    const hostTimeoutSeconds = Number(values["host-timeout-seconds"]);
    if (!Number.isFinite(hostTimeoutSeconds) || hostTimeoutSeconds < 3)
      throw invalidArgument("--host-timeout-seconds must be a number of at least 3.");
    const spotWarningSeconds = Number(values["spot-warning-seconds"]);
    const spotInterruptionsPerHour = Number(values["spot-interruptions-per-hour"]);
    if (!(spotWarningSeconds >= 0) || !(spotInterruptionsPerHour >= 0))
      throw invalidArgument(
        "--spot-warning-seconds and --spot-interruptions-per-hour take numbers of at least 0.",
      );
    const taskCidr = values["task-cidr"];
    const cidrProblem = taskCidr === undefined ? undefined : checkTaskCidr(taskCidr);
    if (cidrProblem !== undefined) throw invalidArgument(`--task-cidr ${cidrProblem}.`);
    const elbTargetCidrs = values["elb-target-cidr"] ?? [];
    const badRange = elbTargetCidrs.find((cidr) => parseTargetCidr(cidr) === undefined);
    if (badRange !== undefined)
      throw invalidArgument(
        `--elb-target-cidr takes an IPv4 CIDR such as 127.0.0.1/32, not '${badRange}'.`,
      );
    const metricPeriodSeconds = Number(values["metric-period-seconds"]);
    if (!Number.isInteger(metricPeriodSeconds) || metricPeriodSeconds < 1)
      throw invalidArgument(
        "--metric-period-seconds takes a whole number of seconds, at least 1 (CloudWatch uses 60).",
      );
    const joinTokenTtl = parseDuration(values["join-token-ttl"]);
    if (joinTokenTtl === undefined)
      throw invalidArgument(
        `--join-token-ttl is a duration like 24h, 30m or 1h30m (0: never expires), not '${values["join-token-ttl"]}'.`,
      );
    const level = values["log-level"];
    if (level !== "debug" && level !== "info" && level !== "warn" && level !== "error")
      throw invalidArgument("--log-level is one of debug, info, warn, error.");
    const dataDir = resolve(values["data-dir"] ?? defaultDataDir(env));
    const log = createLogger(level);
    const store = values.store ?? env.BERTH_STORE;
    const berth = await startBerth({
      host: values.host,
      port,
      dataDir,
      ...(store === undefined || store === "" ? {} : { store }),
      ...(values["blob-dir"] === undefined ? {} : { blobDir: resolve(values["blob-dir"]) }),
      identity: { region: values.region, accountId: values["account-id"] },
      env,
      log,
      registryAutoCreate: values["registry-auto-create"],
      localAgent: !values["no-local-agent"],
      hostTimeoutSeconds,
      spotWarningSeconds,
      spotInterruptionsPerHour,
      ...(taskCidr === undefined ? {} : { taskCidr }),
      elbAddress: values["elb-address"],
      elbTargetCidrs,
      metricPeriodSeconds,
    });
    const join = await berth.createJoinToken({
      ttlMs: joinTokenTtl * 1000,
      description: "printed by berth up",
    });
    process.stdout.write(
      banner(
        berth,
        dataDir,
        values.region,
        values["account-id"],
        join,
        await berth.createConsoleLink(),
      ),
    );
    await new Promise<void>((resolveStop) => {
      const stop = (signal: string): void => {
        log.info("shutting down", { signal });
        process.off("SIGINT", stop);
        process.off("SIGTERM", stop);
        resolveStop();
      };
      process.on("SIGINT", stop);
      process.on("SIGTERM", stop);
    });
    await berth.close();
    return 0;
  },
});
