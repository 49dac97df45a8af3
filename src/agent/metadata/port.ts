/**
 * The TCP ports an agent serves its tasks on, on every cluster gateway: the task metadata
 * endpoint (and task role credentials) and the way through to Berth's API. Each is chosen once
 * (a free one), kept in `<data dir>/network/<name>-port` so that the URIs given to running
 * containers survive an agent restart. The servers listen on them, and the task network opens
 * them (and nothing else on the host) to tasks: both ask here, so they agree.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join, resolve } from "node:path";

const chosen = new Map<string, Promise<number>>();

export function metadataPort(dataDir: string): Promise<number> {
  return keptPort(dataDir, "metadata");
}

/** Where the agent passes tasks' requests on to Berth's API (`AWS_ENDPOINT_URL`). */
export function apiProxyPort(dataDir: string): Promise<number> {
  return keptPort(dataDir, "api");
}

function keptPort(dataDir: string, name: string): Promise<number> {
  const file = join(resolve(dataDir), "network", `${name}-port`);
  let port = chosen.get(file);
  if (port === undefined) {
    port = readOrChoose(file);
    chosen.set(file, port);
    port.catch(() => chosen.delete(file));
  }
  return port;
}

function read(file: string): number | undefined {
  try {
    const kept = Number(readFileSync(file, "utf8").trim());
    return Number.isInteger(kept) && kept > 0 && kept < 65536 ? kept : undefined;
  } catch {
    return undefined;
  }
}

async function readOrChoose(file: string): Promise<number> {
  const kept = read(file);
  if (kept !== undefined) return kept;
  // Gateways are this agent's own addresses, so a port free on loopback is free there too.
  const probe = createServer();
  const port = await new Promise<number>((done, reject) => {
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => done((probe.address() as { port: number }).port));
  });
  await new Promise((done) => probe.close(done));
  mkdirSync(join(file, ".."), { recursive: true });
  writeFileSync(file, `${port}\n`, { mode: 0o600 });
  return port;
}
