/**
 * Debian's docker-registry (the Go reference implementation of the distribution spec) on a
 * free loopback port, storage in a temp dir: a peer for benchmarks and a plain registry for
 * tests of the image store. Stopped by its own PID; its directory goes with it.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface GoRegistry {
  /** `127.0.0.1:PORT`. */
  host: string;
  pid: number;
  dataDir: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  server.close();
  return port;
}

export async function startGoRegistry(): Promise<GoRegistry> {
  const dir = mkdtempSync(join(tmpdir(), "berth-go-registry-"));
  const port = await freePort();
  const config = join(dir, "config.yml");
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
