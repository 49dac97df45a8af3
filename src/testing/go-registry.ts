/**
 * Debian's docker-registry (the Go reference implementation of the distribution spec) on a
 * free loopback port, storage in a temp dir: a peer for benchmarks and a plain registry for
 * tests of the image store. Stopped by its own PID; its directory goes with it.
 */
import { execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./ports.js";

export interface GoRegistry {
  /** `127.0.0.1:PORT`. */
  host: string;
  pid: number;
  dataDir: string;
  stop(): Promise<void>;
}

/**
 * A bcrypt hash for the registry's htpasswd file (it takes bcrypt only): Python's `crypt`
 * module (Debian 12's Python 3.11 has it), since node:crypto has no bcrypt.
 */
async function bcryptHash(password: string): Promise<string> {
  const { stdout } = await run(
    "python3",
    [
      "-W",
      "ignore",
      "-c",
      "import crypt,sys; print(crypt.crypt(sys.stdin.read(), crypt.mksalt(crypt.METHOD_BLOWFISH)))",
    ],
    password,
  );
  return stdout.trim();
}

function run(command: string, args: string[], input: string): Promise<{ stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile(command, args, (error, stdout) => {
      if (error) reject(new Error(`${command} failed: ${error.message}`));
      else resolve({ stdout });
    });
    child.stdin?.end(input);
  });
}

/** With `auth`, the registry asks for that user's password (HTTP Basic, an htpasswd file). */
export async function startGoRegistry(
  options: { auth?: { username: string; password: string } } = {},
): Promise<GoRegistry> {
  const dir = mkdtempSync(join(tmpdir(), "berth-go-registry-"));
  const port = await freePort();
  const config = join(dir, "config.yml");
  const htpasswd = join(dir, "htpasswd");
  if (options.auth !== undefined)
    writeFileSync(
      htpasswd,
      `${options.auth.username}:${await bcryptHash(options.auth.password)}\n`,
      { mode: 0o600 },
    );
  writeFileSync(
    config,
    [
      "version: 0.1",
      "log:",
      "  level: error",
      "storage:",
      "  filesystem:",
      `    rootdirectory: ${join(dir, "data")}`,
      "  delete:",
      "    enabled: true",
      "http:",
      `  addr: 127.0.0.1:${port}`,
      ...(options.auth === undefined
        ? []
        : ["auth:", "  htpasswd:", "    realm: berth-test", `    path: ${htpasswd}`]),
      "",
    ].join("\n"),
  );
  const child = spawn("docker-registry", ["serve", config], { stdio: "ignore" });
  const exited = once(child, "exit");
  const host = `127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  for (let i = 0; ; i++) {
    const up = await fetch(`http://${host}/v2/`).then(
      (r) => r.status === 200 || r.status === 401,
      () => false,
    );
    if (up) break;
    if (i > 400 || child.exitCode !== null) {
      await stop();
      throw new Error("docker-registry did not start");
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return { host, pid: child.pid ?? 0, dataDir: dir, stop };
}
