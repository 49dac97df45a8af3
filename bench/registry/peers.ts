/**
 * The two registries the benchmark compares, each its own process on loopback: Berth (`berth up`
 * from dist/, with `--registry-auto-create`) and Debian's `docker-registry` (the Go reference
 * implementation, distribution 2.8) with filesystem storage in a temp directory.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startBerthProcess } from "../../src/testing/index.js";

export interface Peer {
  name: string;
  /** `127.0.0.1:PORT` */
  host: string;
  /** skopeo's credential flag value, or undefined when the registry is open. */
  creds?: string;
  /** The Authorization header for raw HTTP requests, if any. */
  authorization?: string;
  pid: number;
  dataDir: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function waitFor(url: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      const response = await fetch(url);
      if (response.status === 200 || response.status === 401) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${url} never answered`);
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
}

export async function startGoRegistry(): Promise<Peer> {
  const dir = mkdtempSync(join(tmpdir(), "berth-bench-distribution-"));
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
  const child = spawn("docker-registry", ["serve", config], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  child.stderr?.resume();
  const host = `127.0.0.1:${port}`;
  await waitFor(`http://${host}/v2/`);
  return {
    name: "Go registry",
    host,
    pid: child.pid ?? 0,
    dataDir: dir,
    async stop() {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function startBerth(): Promise<Peer> {
  const berth = await startBerthProcess({
    args: ["--registry-auto-create", "--log-level", "warn"],
  });
  const host = new URL(berth.endpoint).host;
  const { ECRClient, GetAuthorizationTokenCommand } = await import("@aws-sdk/client-ecr");
  const ecr = new ECRClient(berth.clientConfig);
  const answer = await ecr.send(new GetAuthorizationTokenCommand({}));
  ecr.destroy();
  const token = answer.authorizationData?.[0]?.authorizationToken ?? "";
  const creds = Buffer.from(token, "base64").toString();
  return {
    name: "Berth",
    host,
    creds,
    authorization: `Basic ${token}`,
    pid: berth.process.pid ?? 0,
    dataDir: berth.dataDir,
    stop: () => berth.stop(),
  };
}
