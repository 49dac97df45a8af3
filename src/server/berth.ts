/**
 * One Berth: store, AWS front door and listener, started together and stopped together.
 * `berth up` runs one; the test harness runs one per test file.
 */
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { AwsJsonGateway, type Credentials } from "../aws/index.js";
import {
  createLogger,
  systemClock,
  type Clock,
  type Identity,
  type Logger,
} from "../core/index.js";
import { createEcsService, ensureDefaultCluster } from "../services/ecs/index.js";
import { openSqliteStore } from "../store/index.js";
import { resolveServerCredentials, type ResolvedCredentials } from "./credentials.js";
import { createBerthServer } from "./http.js";

export interface BerthOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  dataDir: string;
  identity: Identity;
  env?: NodeJS.ProcessEnv;
  clock?: Clock;
  log?: Logger;
}

export interface RunningBerth {
  endpoint: string;
  port: number;
  credentials: Credentials;
  credentialsSource: ResolvedCredentials["source"];
  close(): Promise<void>;
}

export const DEFAULT_PORT = 4566;

export async function startBerth(options: BerthOptions): Promise<RunningBerth> {
  const log = options.log ?? createLogger("info");
  const clock = options.clock ?? systemClock;
  const resolved = resolveServerCredentials(options.dataDir, options.env ?? process.env);
  const store = await openSqliteStore(join(options.dataDir, "berth.db"));
  await ensureDefaultCluster(store, options.identity, clock.now());

  const gateway = new AwsJsonGateway({
    services: [createEcsService({ store })],
    credentials: (accessKeyId) =>
      accessKeyId === resolved.credentials.accessKeyId ? resolved.credentials : undefined,
    identity: options.identity,
    clock,
    log,
  });
  let ready = false;
  const server = createBerthServer({ gateway, log, isReady: () => ready });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  ready = true;
  const port = (server.address() as AddressInfo).port;
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  return {
    endpoint: `http://${host === "0.0.0.0" ? "127.0.0.1" : host}:${port}`,
    port,
    credentials: resolved.credentials,
    credentialsSource: resolved.source,
    async close() {
      ready = false;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await store.destroy();
    },
  };
}
