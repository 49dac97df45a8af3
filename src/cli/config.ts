/**
 * Where other `berth` commands find a running Berth, and with which credentials:
 * --endpoint / BERTH_ENDPOINT (default http://127.0.0.1:4566); BERTH_* keys, else the standard
 * AWS variables, else the keys kept in the local data directory.
 */
import { homedir } from "node:os";
import { join } from "node:path";
import { BerthError } from "../core/index.js";
import { readKeptCredentials, DEFAULT_PORT } from "../server/index.js";
import type { Credentials } from "../aws/index.js";
import type { Flags } from "./command.js";

export const DEFAULT_ENDPOINT = `http://127.0.0.1:${DEFAULT_PORT}`;

export function defaultDataDir(env: NodeJS.ProcessEnv): string {
  return env.BERTH_DATA_DIR ?? join(homedir(), ".berth");
}

/** The flags every client command takes, documented once. */
export const CLIENT_FLAGS = {
  endpoint: {
    type: "string",
    value: "URL",
    help: `the Berth to talk to (default: $BERTH_ENDPOINT, else ${DEFAULT_ENDPOINT})`,
  },
  "data-dir": {
    type: "string",
    value: "DIR",
    help: "where that Berth keeps its keys, used when none are in the environment (default: ~/.berth)",
  },
  region: {
    type: "string",
    value: "REGION",
    help: "the region requests are signed for (default: $AWS_REGION, else us-east-1)",
  },
} as const satisfies Flags;

export interface ClientConfig {
  endpoint: string;
  region: string;
  credentials: Credentials;
}

/** The endpoint alone, for what needs no credentials (`GET /metrics`). */
export function resolveEndpoint(flags: { endpoint?: string }, env: NodeJS.ProcessEnv): string {
  return flags.endpoint ?? env.BERTH_ENDPOINT ?? DEFAULT_ENDPOINT;
}

export function resolveClientConfig(
  flags: { endpoint?: string; dataDir?: string; region?: string },
  env: NodeJS.ProcessEnv,
): ClientConfig {
  const endpoint = resolveEndpoint(flags, env);
  const region =
    flags.region ?? env.BERTH_REGION ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? "us-east-1";
  const pairs: Array<[string | undefined, string | undefined]> = [
    [env.BERTH_ACCESS_KEY_ID, env.BERTH_SECRET_ACCESS_KEY],
    [env.AWS_ACCESS_KEY_ID, env.AWS_SECRET_ACCESS_KEY],
  ];
  for (const [accessKeyId, secretAccessKey] of pairs) {
    if (accessKeyId && secretAccessKey)
      return { endpoint, region, credentials: { accessKeyId, secretAccessKey } };
  }
  const dataDir = flags.dataDir ?? defaultDataDir(env);
  const kept = readKeptCredentials(dataDir);
  if (kept !== undefined) return { endpoint, region, credentials: kept };
  throw new BerthError(
    "NoCredentials",
    `No credentials for ${endpoint}: set BERTH_ACCESS_KEY_ID and BERTH_SECRET_ACCESS_KEY (the keys \`berth up\` printed), ` +
      `or run this on the machine of that Berth (its keys are kept in ${join(dataDir, "credentials.json")}).`,
  );
}

/** resolveClientConfig from a command's parsed CLIENT_FLAGS. */
export function clientConfigFrom(
  flags: {
    endpoint?: string | undefined;
    "data-dir"?: string | undefined;
    region?: string | undefined;
  },
  env: NodeJS.ProcessEnv,
): ClientConfig {
  return resolveClientConfig(
    { endpoint: flags.endpoint, dataDir: flags["data-dir"], region: flags.region },
    env,
  );
}
