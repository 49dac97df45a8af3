/**
 * One Berth per data directory. Two servers on one store would run two reconcilers, and two
 * agents on one agent dir would adopt each other's containers; so `berth up`, `berth server`,
 * `berth agent` and `berth host clean` first take the directory's lock.
 *
 * The lock is SQLite's own (an fcntl write lock) on `<dir>/berth.lock`, opened in exclusive
 * locking mode and held for the life of the process: the kernel drops it when the process dies,
 * however it dies (kill -9 included), so there is never a stale lock and no pid to trust. The
 * holder's pid, for the error message, is read from /proc/locks (the kernel's own word); the
 * pid file beside it is only a fallback where /proc/locks is missing.
 */
import { chmodSync, closeSync, mkdirSync, openSync, readFileSync, statSync } from "node:fs";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import SQLite from "better-sqlite3";
import { BerthError } from "./errors.js";

export const LOCK_FILE = "berth.lock";

export interface DataDirLock {
  readonly dir: string;
  /** Lets the directory go (the process's exit does the same). */
  release(): void;
}

/** The pid holding a POSIX lock on the file, from /proc/locks; undefined when none is seen. */
function lockHolder(path: string): number | undefined {
  let file: string;
  let locks: string;
  try {
    const { dev, ino } = statSync(path);
    // The kernel writes MAJOR:MINOR:INODE, the device numbers in hex.
    const major = (dev >> 8) & 0xfff;
    const minor = (dev & 0xff) | ((dev >> 12) & 0xfff00);
    file = `${major.toString(16).padStart(2, "0")}:${minor.toString(16).padStart(2, "0")}:${ino}`;
    locks = readFileSync("/proc/locks", "utf8");
  } catch {
    return undefined;
  }
  // "1: POSIX  ADVISORY  WRITE 4242 fd:00:1234567 1073741824 1073742335"
  for (const line of locks.split("\n")) {
    const fields = line.trim().split(/\s+/);
    const at = fields.indexOf(file);
    if (at < 1) continue;
    const pid = Number(fields[at - 1]);
    if (Number.isInteger(pid) && pid > 0) return pid;
  }
  return undefined;
}

function recordedPid(dir: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(dir, `${LOCK_FILE}.pid`), "utf8").trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Takes the directory's lock or throws DataDirInUse naming the Berth that holds it. */
export function lockDataDir(dir: string): DataDirLock {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, LOCK_FILE);
  // Made 0600 before SQLite opens it: nothing Berth writes is readable by other users.
  closeSync(openSync(path, "a", 0o600));
  chmodSync(path, 0o600);
  const db = new SQLite(path, { timeout: 0 });
  try {
    db.pragma("locking_mode = EXCLUSIVE");
    // The first write takes the EXCLUSIVE lock; exclusive locking mode keeps it until close.
    db.exec("BEGIN EXCLUSIVE; CREATE TABLE IF NOT EXISTS holder (pid INTEGER); COMMIT;");
  } catch (cause) {
    db.close();
    if (!(cause instanceof Error && "code" in cause && cause.code === "SQLITE_BUSY")) throw cause;
    const pid = lockHolder(path) ?? recordedPid(dir);
    throw new BerthError(
      "DataDirInUse",
      `another Berth (pid ${pid ?? "unknown"}) uses ${dir}; stop it first, or choose another directory with --data-dir`,
      { cause },
    );
  }
  writeFileSync(join(dir, `${LOCK_FILE}.pid`), `${process.pid}\n`, { mode: 0o600 });
  let held = true;
  return {
    dir,
    release() {
      if (!held) return;
      held = false;
      rmSync(join(dir, `${LOCK_FILE}.pid`), { force: true });
      db.close();
    },
  };
}
