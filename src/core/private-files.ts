/**
 * Berth's files are readable by root alone: tenants' environment values, registry passwords,
 * logs and layers live under the data dir. The data dir is 0700 (so nothing below it is
 * reachable by another local user) and each file with tenant data is created 0600 from the
 * start; the process umask (077, set by the CLI at start) covers files other programs write
 * there (conmon's logs, the task network's state).
 */
import { chmodSync, mkdirSync, statSync } from "node:fs";

/** Owner read/write only: the mode of every file Berth writes with tenant data. */
export const PRIVATE_FILE = 0o600;
/** Owner only: the mode of Berth's directories. */
export const PRIVATE_DIR = 0o700;

/**
 * Makes `dir` (and missing parents) 0700, and tightens it when it exists with a wider mode:
 * a data dir made by hand or by an older Berth is closed before anything is written into it.
 */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR });
  if ((statSync(dir).mode & 0o077) !== 0) chmodSync(dir, PRIVATE_DIR);
}
