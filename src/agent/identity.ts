/**
 * Who this host is to the control plane: its id and its own credential, made once and kept in
 * the agent's data dir (the secret 0600, created so, never widened later). The secret is shown on
 * every connection; the server keeps only its hash from the join on.
 */
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface HostCredential {
  hostId: string;
  secret: string;
}

/** Reads a one-line file, or creates it (exclusively, mode 0600) with `make()` if absent. */
function readOrCreate(file: string, make: () => string): string {
  try {
    writeFileSync(file, make() + "\n", { mode: 0o600, flag: "wx" });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
  return readFileSync(file, "utf8").trim();
}

export function hostCredential(dataDir: string): HostCredential {
  return {
    hostId: readOrCreate(join(dataDir, "host-id"), () => `host-${randomBytes(8).toString("hex")}`),
    secret: readOrCreate(join(dataDir, "host-secret"), () => randomBytes(32).toString("base64url")),
  };
}
