/**
 * The access key Berth accepts: from BERTH_ACCESS_KEY_ID / BERTH_SECRET_ACCESS_KEY, else
 * generated once and kept (mode 0600) in the data directory, so restarts keep working clients.
 */
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import { BerthError, ensurePrivateDir } from "../core/index.js";
import type { Credentials } from "../aws/index.js";

export const CREDENTIALS_FILE = "credentials.json";

const ALPHANUMERIC = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

function generate(): Credentials {
  const bytes = randomBytes(16);
  const accessKeyId = "AKIA" + [...bytes].map((b) => ALPHANUMERIC[b % 32]).join("");
  const secretAccessKey = randomBytes(30)
    .toString("base64")
    .replace(/\+/g, "A")
    .replace(/\//g, "B");
  return { accessKeyId, secretAccessKey };
}

export function readKeptCredentials(dataDir: string): Credentials | undefined {
  const file = join(dataDir, CREDENTIALS_FILE);
  if (!existsSync(file)) return undefined;
  try {
    const value = JSON.parse(readFileSync(file, "utf8")) as Partial<Credentials>;
    if (typeof value.accessKeyId === "string" && typeof value.secretAccessKey === "string")
      return { accessKeyId: value.accessKeyId, secretAccessKey: value.secretAccessKey };
  } catch (cause) {
    throw new BerthError(
      "CredentialsUnreadable",
      `${file} is not valid JSON; remove it to generate new credentials`,
      {
        fault: "server",
        cause,
      },
    );
  }
  throw new BerthError("CredentialsUnreadable", `${file} lacks accessKeyId or secretAccessKey`, {
    fault: "server",
  });
}

export interface ResolvedCredentials {
  credentials: Credentials;
  source: "environment" | "data-dir" | "generated";
}

export function resolveServerCredentials(
  dataDir: string,
  env: NodeJS.ProcessEnv,
): ResolvedCredentials {
  const accessKeyId = env.BERTH_ACCESS_KEY_ID;
  const secretAccessKey = env.BERTH_SECRET_ACCESS_KEY;
  if (accessKeyId && secretAccessKey)
    return { credentials: { accessKeyId, secretAccessKey }, source: "environment" };
  if (accessKeyId || secretAccessKey)
    throw new BerthError(
      "CredentialsIncomplete",
      "Set both BERTH_ACCESS_KEY_ID and BERTH_SECRET_ACCESS_KEY, or neither to use the kept ones.",
    );
  const kept = readKeptCredentials(dataDir);
  if (kept !== undefined) return { credentials: kept, source: "data-dir" };
  const credentials = generate();
  ensurePrivateDir(dataDir);
  const file = join(dataDir, CREDENTIALS_FILE);
  writeFileSync(file + ".tmp", JSON.stringify(credentials, null, 2) + "\n", { mode: 0o600 });
  renameSync(file + ".tmp", file);
  return { credentials, source: "generated" };
}
