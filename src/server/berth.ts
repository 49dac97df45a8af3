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
import { Billing, NO_TASKS, type TaskUsageSource } from "../billing/index.js";
import { createCostExplorerService } from "../services/costexplorer/index.js";
import { createEcsService, ensureDefaultCluster } from "../services/ecs/index.js";
import { createEcrService } from "../services/ecr/index.js";
import { createRegistryHandler, Registry } from "../registry/index.js";
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
  /** What the meter reads running tasks from (billing); none until compute provides one. */
  taskUsageSource?: TaskUsageSource;
  /** Create a registry repository on first push instead of answering NAME_UNKNOWN (as ECR does). */
  registryAutoCreate?: boolean;
}

export interface RunningBerth {
  endpoint: string;
  port: number;
  credentials: Credentials;
  credentialsSource: ResolvedCredentials["source"];
  /** The meter and price book; compute calls `billing.recordTaskUsage` when a task stops. */
  billing: Billing;
  close(): Promise<void>;
}

export const DEFAULT_PORT = 4566;

export async function startBerth(options: BerthOptions): Promise<RunningBerth> {
  const log = options.log ?? createLogger("info");
  const clock = options.clock ?? systemClock;
  const resolved = resolveServerCredentials(options.dataDir, options.env ?? process.env);
  const store = await openSqliteStore(join(options.dataDir, "berth.db"));
  await ensureDefaultCluster(store, options.identity, clock.now());

  const registryCredentials = (accessKeyId: string): Credentials | undefined =>
    accessKeyId === resolved.credentials.accessKeyId ? resolved.credentials : undefined;
  const registry = new Registry({
    root: join(options.dataDir, "registry"),
    store,
    identity: options.identity,
    clock,
    log,
    credentials: registryCredentials,
    autoCreate: options.registryAutoCreate,
  });
  await registry.start();
  // Known once the listener is bound (port 0 picks one): what repositoryUri advertises.
  let registryHost = "";
  const ecr = createEcrService({
    registry,
    store,
    credentials: registryCredentials,
    registryHost: () => registryHost,
    endpoint: () => `http://${registryHost}`,
  });

  const billing = new Billing({
    store,
    source: options.taskUsageSource ?? NO_TASKS,
    clock,
    log,
    dataDir: options.dataDir,
    identity: options.identity,
  });

  const gateway = new AwsJsonGateway({
    services: [createCostExplorerService({ billing }), createEcsService({ store }), ecr],
    credentials: (accessKeyId) =>
      accessKeyId === resolved.credentials.accessKeyId ? resolved.credentials : undefined,
    identity: options.identity,
    clock,
    log,
  });
  let ready = false;
  const server = createBerthServer({
    gateway,
    log,
    isReady: () => ready,
    registry: createRegistryHandler({ registry, credentials: registryCredentials, log }),
  });
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
  registryHost = `${host === "0.0.0.0" ? "127.0.0.1" : host}:${port}`;
  return {
    endpoint: `http://${host === "0.0.0.0" ? "127.0.0.1" : host}:${port}`,
    port,
    credentials: resolved.credentials,
    credentialsSource: resolved.source,
    billing,
    async close() {
      ready = false;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await registry.stop();
      await store.destroy();
    },
  };
}
