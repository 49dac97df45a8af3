/**
 * A throw-away PostgreSQL server for tests and benchmarks: Debian's PostgreSQL 15, a new
 * cluster in a temp directory, listening on loopback on a free port, with a random password
 * (other local users cannot get in). `initdb` refuses root, so the server runs as `postgres`.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chownSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { freePort } from "./ports.js";

const BIN = "/usr/lib/postgresql/15/bin";

export interface TestPostgres {
  /** `postgres://berth:PASSWORD@127.0.0.1:PORT/berth`, a database with C collation. */
  url: string;
  port: number;
  /** Makes another empty database on the same server and returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** What the server has written to its log (stderr) so far: errors, lock waits, slow statements. */
  log(): string;
  /** Stops the server (fast shutdown) and starts it again on the same port and data. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

function userIds(name: string): { uid: number; gid: number } {
  const out = spawnSync("id", ["-u", name], { encoding: "utf8" });
  const gid = spawnSync("id", ["-g", name], { encoding: "utf8" });
  if (out.status !== 0) throw new Error(`no '${name}' user: apt-get install postgresql-15`);
  return { uid: Number(out.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/** `setpriv` execs in place (unlike runuser), so the PID we hold is the postmaster's. */
function asPostgres(command: string, args: string[]): string[] {
  return ["--reuid=postgres", "--regid=postgres", "--init-groups", "--", command, ...args];
}

export async function startPostgres(): Promise<TestPostgres> {
  const ids = userIds("postgres");
  const dir = mkdtempSync(join(tmpdir(), "berth-pg-"));
  chownSync(dir, ids.uid, ids.gid);
  const data = join(dir, "data");
  const password = randomBytes(18).toString("base64url");
  const pwfile = join(dir, "pw");
  writeFileSync(pwfile, password, { mode: 0o600 });
  chownSync(pwfile, ids.uid, ids.gid);
  const init = spawnSync(
    "setpriv",
    asPostgres(`${BIN}/initdb`, [
      "-D",
      data,
      "-U",
      "berth",
      `--pwfile=${pwfile}`,
      "-A",
      "scram-sha-256",
      "--locale=C",
      "-E",
      "UTF8",
      "--no-sync",
    ]),
    { encoding: "utf8" },
  );
  rmSync(pwfile, { force: true });
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}`);
  const port = await freePort();
  let child: ChildProcess | undefined;
  const logs: string[] = [];

  const admin = (database: string) =>
    new pg.Client({ host: "127.0.0.1", port, user: "berth", password, database });

  const start = async (): Promise<void> => {
    const server = spawn(
      "setpriv",
      asPostgres(`${BIN}/postgres`, [
        "-D",
        data,
        "-p",
        String(port),
        "-k",
        dir,
        "-c",
        "listen_addresses=127.0.0.1",
        "-c",
        "fsync=off",
        "-c",
        "max_connections=200",
      ]),
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    server.stderr?.on("data", (chunk: Buffer) => logs.push(chunk.toString()));
    child = server;
    const deadline = Date.now() + 30_000;
    for (;;) {
      const client = admin("postgres");
      try {
        await client.connect();
        await client.end();
        return;
      } catch (error) {
        await client.end().catch(() => {});
        if (server.exitCode !== null || Date.now() > deadline)
          throw new Error(`postgres did not start: ${logs.join("").slice(-2000)}`, {
            cause: error,
          });
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };

  const halt = async (): Promise<void> => {
    const server = child;
    if (server === undefined || server.exitCode !== null) return;
    const exited = new Promise((r) => server.once("exit", r));
    server.kill("SIGINT"); // fast shutdown: open sessions are ended, nothing committed is lost
    await exited;
  };

  const createDatabase = async (name: string): Promise<string> => {
    const client = admin("postgres");
    await client.connect();
    try {
      await client.query(
        `create database "${name}" template template0 lc_collate 'C' lc_ctype 'C'`,
      );
    } finally {
      await client.end();
    }
    return `postgres://berth:${password}@127.0.0.1:${port}/${name}`;
  };

  await start();
  const url = await createDatabase("berth");
  return {
    url,
    port,
    createDatabase,
    log: () => logs.join(""),
    restart: async () => {
      await halt();
      await start();
    },
    stop: async () => {
      await halt();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
