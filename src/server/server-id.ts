/**
 * This server's id: made once and kept in its data dir (0600), so a restarted server is the
 * same holder of its leases (the data dir's lock makes it the only process with this id).
 */
import { randomUUID } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export function serverId(dataDir: string): string {
  const path = join(dataDir, "server-id");
  try {
    return readFileSync(path, "utf8").trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  const id = randomUUID();
  try {
    writeFileSync(path, `${id}\n`, { mode: 0o600, flag: "wx" });
    return id;
  } catch (error) {
    // Another start wrote it first (it cannot: the lock is held), or it is unreadable: read it.
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    return readFileSync(path, "utf8").trim();
  }
}
