/**
 * One Berth: store, AWS front door and listener, started together and stopped together.
 * `berth up` runs one; the test harness runs one per test file.
 */
import { mkdirSync } from "node:fs";
import { hostname, networkInterfaces } from "node:os";
import { join } from "node:path";
import {
  AwsJsonGateway,
  AwsQueryGateway,
  AwsRestJsonGateway,
  type AwsJsonService,
  type AwsQueryService,
  type Credentials,
  rootPrincipal,
} from "../aws/index.js";
import {
  caCertHash,
  createLogger,
  ensureCertificateAuthority,
  ensurePrivateDir,
  newRequestId,
  issueServingCertificate,
  lockDataDir,
  systemClock,
  type Clock,
  type Identity,
  type Logger,
} from "../core/index.js";
import { Billing, type TaskUsageSource } from "../billing/index.js";
import { serveBillingRoute } from "./billing-routes.js";
import { createAutoscalingService } from "../services/autoscaling/index.js";
import { createCostExplorerService } from "../services/costexplorer/index.js";
import { createEksService } from "../services/eks/index.js";
import { Kubernetes } from "../kube/index.js";
import {
  createEcsService,
  ecsClusterLifecycle,
  podTaskLauncher,
  ensureDefaultCluster,
  serviceDesiredCountSetter,
  serviceLauncher,
  type TaskDispatcher,
} from "../services/ecs/index.js";
import {
  AgentChannelServer,
  AssignmentRelay,
  Autoscaler,
  createJoinToken,
  enrollLocalHost,
  markLostHosts,
  ServiceMetrics,
  ServiceReconciler,
  SpotInterrupter,
  TaskStopper,
  UsageSeries,
  containerSeriesKey,
  type JoinTokenInfo,
  type JoinTokenSpec,
  taskBillingFacts,
  tasksPulledBefore,
  Lease,
  leadRoles,
  type LeaderRole,
  DEFAULT_TASK_CIDR,
  ClusterNetworks,
} from "../control/index.js";
import { AGENT_CHANNEL_PATH, type TaskAssignment } from "../protocol/index.js";
import { pinImages } from "./image-pins.js";
import {
  hostCredential,
  startLocalAgent,
  SubnetRoutes,
  type RunningAgent,
} from "../agent/index.js";
import { createEcrService } from "../services/ecr/index.js";
import {
  createElbv2Service,
  DEFAULT_TARGET_CIDRS,
  serviceTargets,
} from "../services/elbv2/index.js";
import { LoadBalancerPlane } from "../balancer/index.js";
import {
  createIamService,
  createStsService,
  IamAuthorizer,
  iamCredentialLookup,
} from "../services/iam/index.js";
import { appendLogEvents, createLogsService, startLogRetention } from "../services/logs/index.js";
import {
  createRegistryHandler,
  mintRegistryPassword,
  Registry,
  REGISTRY_USER,
} from "../registry/index.js";
import { dialectOf, openNotifier, openStore } from "../store/index.js";
import { serverId } from "./server-id.js";
import { resolveServerCredentials, type ResolvedCredentials } from "./credentials.js";
import { ExecRoute, openTaskExec, TASK_EXEC_PATH } from "./exec-route.js";
import { createBerthServer } from "./http.js";
import { listenBerth } from "./listener.js";
import {
  PullProgress,
  serveTaskLogs,
  openTaskLogs,
  serveTaskProgress,
  TASK_LOGS_PATH,
  TASK_PROGRESS_PATH,
  SPOT_INTERRUPT_PATH,
  serveSpotInterrupt,
} from "./task-routes.js";
import { serveMetrics } from "./metrics-route.js";
import { serveTokens, TOKENS_PATH } from "./token-routes.js";
import { Peers } from "./peers.js";
import { shareCertificateAuthority } from "./shared-ca.js";
import {
  ConsoleChanges,
  ConsoleRoutes,
  ConsoleSessions,
  MetricsHistory,
  type ConsoleAuthorizer,
} from "../console/index.js";
import { machineAddressSpace } from "./task-address-space.js";

export interface BerthOptions {
  /** Run this machine's own compute agent inside the process (`berth up` does). */
  localAgent?: boolean;
  /**
   * The task address space (`--task-cidr`): a block per cluster, a subnet of it per host;
   * default 100.64.0.0/10.
   */
  taskCidr?: string;
  /**
   * Where registry blobs live: a directory every server of one store shares (a network
   * filesystem in production); default `<dataDir>/registry`.
   */
  blobDir?: string;
  host: string;
  /** 0 picks a free port. */
  port: number;
  dataDir: string;
  /** Where desired and actual state live: a `postgres://` URL, or none for SQLite in dataDir. */
  store?: string;
  identity: Identity;
  env?: NodeJS.ProcessEnv;
  clock?: Clock;
  log?: Logger;
  /** Create a registry repository on first push instead of answering NAME_UNKNOWN (as ECR does). */
  registryAutoCreate?: boolean;
  /** Seconds without a heartbeat before a host is LOST (its agent heartbeats every 2 s). */
  hostTimeoutSeconds?: number;
  /** Between a Spot interruption's warning and the stop (Fargate gives 120 s). */
  spotWarningSeconds?: number;
  /** Random Spot interruptions per Spot task-hour (0: only `berth spot interrupt`). */
  spotInterruptionsPerHour?: number;
  /** How often the service reconciler runs a pass besides when kicked. */
  reconcileIntervalMs?: number;
  /** Where load balancer listeners bind (default 127.0.0.1). */
  elbAddress?: string;
  /**
   * Ranges besides the task subnets (`taskCidr`, default 100.64.0.0/10) that ELB `ip` targets
   * may be in (`--elb-target-cidr`), e.g. 127.0.0.1/32 for a process on the host.
   */
  elbTargetCidrs?: string[];
  /** What the meter reads running tasks from (billing); none until compute provides one. */
  taskUsageSource?: TaskUsageSource;
  /** One metric datapoint per this many seconds (CloudWatch: 60); autoscaling timing follows. */
  metricPeriodSeconds?: number;
  /** The EKS clusters' Kubernetes API (HTTPS); 0 reuses the last port if free, else any. */
  kubePort?: number;
  /** Whether the console may let a signed-in key read what it reads from the store itself. */
  consoleAuthorizer?: ConsoleAuthorizer;
}

export interface RunningBerth {
  /** Creates a token a `berth agent` on another host joins with. */
  createJoinToken(spec?: JoinTokenSpec): Promise<{ token: string; info: JoinTokenInfo }>;
  /** The in-process agent of `berth up`, when there is one. */
  localAgent?: RunningAgent;
  endpoint: string;
  /** Where agents on other machines join: the same port over TLS (`https://`). */
  agentEndpoint: string;
  /** The CA's pin for the join line (`--ca-cert-hash sha256:...`). */
  caCertHash: string;
  /** The `berth agent` line that joins with `token`. */
  joinCommand(token: string): string;
  port: number;
  credentials: Credentials;
  credentialsSource: ResolvedCredentials["source"];
  /** The meter and price book; compute calls `billing.recordTaskUsage` when a task stops. */
  billing: Billing;
  /** The load balancers' data plane (request counts per target group, target health). */
  loadBalancers: LoadBalancerPlane;
  /** @internal Every AWS service it serves, JSON and Query (tests check the tables). */
  awsServices: readonly (AwsJsonService | AwsQueryService)[];
  close(): Promise<void>;
}

export const DEFAULT_PORT = 4566;

/** The names the serving certificate carries: the listen address, or every address it covers. */
function servingNames(host: string): string[] {
  const wildcard = host === "0.0.0.0" || host === "::";
  const local = Object.values(networkInterfaces())
    .flat()
    .filter((address) => address !== undefined && (wildcard || address.internal))
    .map((address) => address?.address ?? "");
  return [
    ...new Set([...(wildcard ? [] : [host]), "127.0.0.1", "localhost", hostname(), ...local]),
  ];
}

/**
 * Whether a connection comes from this machine (loopback, or one of its own addresses when the
 * server listens on one): the local agent's path, which never crosses a network.
 */
function isThisMachine(address: string | undefined): boolean {
  const plain = (address ?? "").replace(/^::ffff:/, "");
  if (plain === "::1" || plain.startsWith("127.")) return true;
  return Object.values(networkInterfaces()).some((list) =>
    (list ?? []).some((own) => own.address === plain),
  );
}

export async function startBerth(options: BerthOptions): Promise<RunningBerth> {
  const log = options.log ?? createLogger("info");
  const clock = options.clock ?? systemClock;
  // Root's alone: it holds the store, the registry and the agent's tasks (their secrets).
  ensurePrivateDir(options.dataDir);
  // Then: a second Berth on this data dir would run a second reconciler on its store.
  const lock = lockDataDir(options.dataDir);
  const resolved = resolveServerCredentials(options.dataDir, options.env ?? process.env);
  const store = await openStore(options.store, options.dataDir);
  // Before the Kubernetes API and the TLS listener read <data-dir>/pki: the store's CA.
  await shareCertificateAuthority(store, join(options.dataDir, "pki"));
  await ensureDefaultCluster(store, options.identity, clock.now());

  const billing = new Billing({
    store,
    // The tasks the control plane keeps are what the meter bills.
    source: options.taskUsageSource ?? {
      tasksPulledBefore: (before, after) => tasksPulledBefore(store, before, after),
    },
    clock,
    log,
    dataDir: options.dataDir,
    identity: options.identity,
  });

  // The key `berth up` prints is the account's root; IAM users' keys and STS sessions are
  // in the store. Every front door looks keys up and authorizes callers the same way.
  const lookupCredentials = iamCredentialLookup(store, options.identity, resolved.credentials);
  const authorizer = new IamAuthorizer(store);
  const registry = new Registry({
    root: options.blobDir ?? join(options.dataDir, "registry"),
    store,
    identity: options.identity,
    clock,
    log,
    credentials: lookupCredentials,
    autoCreate: options.registryAutoCreate,
  });
  await registry.start();
  // Known once the listener is bound (port 0 picks one): what repositoryUri advertises.
  let registryHost = "";
  const ecr = createEcrService({
    registry,
    store,
    credentials: lookupCredentials,
    registryHost: () => registryHost,
    endpoint: () => `http://${registryHost}`,
  });

  // Load balancers: the API keeps their configuration, the data plane listens and proxies.
  const loadBalancers = new LoadBalancerPlane({ store, log, address: options.elbAddress });
  await loadBalancers.start();

  // Metrics: agents sample their tasks' cgroups a few times per period; one datapoint per period.
  const periodMs = (options.metricPeriodSeconds ?? 60) * 1000;
  const usage = new UsageSeries(Math.max(5 * periodMs, 60_000));
  const metrics = new ServiceMetrics({
    store,
    series: usage,
    periodMs,
    requests: loadBalancers,
  });

  const progress = new PullProgress();
  // What the console's live stream tells browsers: tasks reported, services reconciled.
  const consoleChanges = new ConsoleChanges();
  // Set once the Kubernetes API exists: pods follow their tasks at once.
  let kubeTaskChanged = (): void => undefined;
  // The local agent of `berth up` is this process: it keeps the plain loopback path.
  const localAgentDir = join(options.dataDir, "agent");
  let localHostId: string | undefined;
  if (options.localAgent) {
    mkdirSync(localAgentDir, { recursive: true });
    const local = hostCredential(localAgentDir);
    await enrollLocalHost(store, local.hostId, local.secret, clock.now());
    localHostId = local.hostId;
  }
  // The cluster networks across hosts: each host hears of its peers, this host routes to them.
  const subnetRoutes = new SubnetRoutes(log);
  const clusterNetworks: ClusterNetworks = new ClusterNetworks({
    store,
    get channel() {
      return channel;
    },
    taskCidr: options.taskCidr ?? DEFAULT_TASK_CIDR,
    log,
    onRoutes: (routes) => subnetRoutes.sync(routes),
  });
  const channel = new AgentChannelServer({
    store,
    clock,
    log,
    plainAllowed: (hostId, remote) => hostId === localHostId && isThisMachine(remote),
    // An agent on another machine cannot reach 127.0.0.1:PORT: it pulls these from the server.
    registryNames: () => [registryHost],
    onHostConnected: (hostId) => clusterNetworks.connected(hostId),
    usageIntervalMs: Math.min(10_000, Math.max(250, Math.floor(periodMs / 4))),
    // Samples are placed on the server's clock when they arrive: periods are the server's, and
    // a host's clock may be off by more than a period.
    onUsage: ({ tasks }) => {
      const at = clock.now().getTime();
      for (const { taskArn, cpuNanos, memoryBytes, containers = [] } of tasks) {
        usage.record(taskArn, { at, cpuNanos, memoryBytes });
        for (const c of containers)
          usage.record(containerSeriesKey(taskArn, c.name), {
            at,
            cpuNanos: c.cpuNanos,
            memoryBytes: c.memoryBytes,
          });
      }
    },
    onProgress: ({ taskArn, container, bytesDone, bytesTotal }) =>
      progress.record(taskArn, { container, bytesDone, bytesTotal }),
    // The awslogs driver's lines, exactly once by their offsets.
    onLogEvents: async ({ group, stream, createGroup, events }) => {
      try {
        await appendLogEvents(store, { group, stream, createGroup, events });
        return undefined;
      } catch (error) {
        return error instanceof Error ? error.message : String(error);
      }
    },
    // A task that reached STOPPED is metered at once (reports also catch any this misses).
    onTaskChanged: (taskArn) => {
      kubeTaskChanged();
      consoleChanges.publish({ kind: "task", taskArn });
      taskBillingFacts(store, taskArn)
        .then((facts) =>
          facts?.stoppedAt === undefined ? undefined : billing.recordTaskUsage(facts),
        )
        .catch((error: unknown) =>
          log.error("metering a stopped task failed", { taskArn, error: String(error) }),
        );
    },
  });
  // Tasks go straight to their host when its agent is connected here, and through the store
  // (with a notification) to the server it is connected to otherwise.
  const notifier = openNotifier(store, options.store, log);
  const relay = new AssignmentRelay({
    store,
    channel,
    notifier,
    log,
    ...(dialectOf(store) === "postgres" ? { intervalMs: 1_000 } : {}),
  });
  relay.start();
  clusterNetworks.start();
  // Assignments go out with their own-registry images pinned (image-pins.ts); stops queue
  // behind them, so a host never hears of a task's stop before its assignment.
  let dispatched: Promise<unknown> = Promise.resolve();
  const inTurn = (send: () => Promise<void> | void): void => {
    dispatched = dispatched
      .then(send)
      .catch((error: unknown) =>
        log.warn("dispatching to a host failed", { error: String(error) }),
      );
  };
  const dispatcher: TaskDispatcher = {
    assign: (hostId, assignment) => {
      const hosts = peers.registries();
      const pinned = pinImages(
        assignment,
        registry,
        hosts.length > 0 ? hosts : [registryHost],
        log,
      );
      inTurn(async () => relay.deliver(hostId, { type: "assign", task: await pinned }));
      // A first task of a cluster on a host gave it a subnet: its peers hear of it now.
      void clusterNetworks.kick();
    },
    addresses: machineAddressSpace(options.taskCidr ?? DEFAULT_TASK_CIDR, options.dataDir),
    stop: (hostId, taskArn, stopCode, stoppedReason) =>
      inTurn(() => relay.deliver(hostId, { type: "stop", taskArn, stopCode, stoppedReason })),
  };

  // Every server of the store mints the same password (they share the account's keys), so a
  // task gets it for each server's registry: its image may have been pushed through any.
  const peers = new Peers({
    store,
    notifier,
    serverId: serverId(options.dataDir),
    now: () => clock.now().getTime(),
    log,
  });
  const registryCredentials = (): TaskAssignment["registryCredentials"] => {
    const password = mintRegistryPassword(resolved.credentials, clock.now()).password;
    const registries = peers.registries();
    return (registries.length > 0 ? registries : [registryHost]).map((registry) => ({
      registry,
      username: REGISTRY_USER,
      password,
    }));
  };
  const targets = serviceTargets(store, loadBalancers, clock);
  // Every stop (StopTask, pods, the reconciler, Spot) goes through this one object.
  const stopper = new TaskStopper({ store, hosts: dispatcher, targets, log });
  // Services: the reconciler decides, the ECS layer's launcher starts their tasks.
  // The singleton roles run on one server at a time: the one holding the control plane's lease
  // (with SQLite there is one server, which takes it at start).
  const leadership = new Lease({
    store,
    role: "control-plane",
    holder: serverId(options.dataDir),
    log,
  });
  const reconciler = new ServiceReconciler({
    store,
    clock,
    log,
    stopper,
    fence: (trx) => leadership.fence(trx),
    launcher: serviceLauncher({
      store,
      dispatcher,
      registryCredentials,
      kick: () => kickReconciler(),
      identity: options.identity,
      clock,
    }),
    targets,
    intervalMs: options.reconcileIntervalMs ?? 1000,
  });
  const autoscaler = new Autoscaler({
    store,
    clock,
    log,
    metrics,
    periodMs,
    setDesiredCount: serviceDesiredCountSetter({
      store,
      kick: () => kickReconciler(),
      identity: options.identity,
      clock,
      log,
    }),
  });
  const spot = new SpotInterrupter({
    store,
    clock,
    log,
    warningMs: (options.spotWarningSeconds ?? 120) * 1000,
    randomRatePerHour: options.spotInterruptionsPerHour ?? 0,
    stopper,
    onInterrupted: () => kickReconciler(),
  });
  // Hosts that fall silent are LOST: their tasks stop, and services replace them elsewhere.
  const hostTimeoutMs = (options.hostTimeoutSeconds ?? 30) * 1000;
  let hostWatch: NodeJS.Timeout | undefined;
  const watchHosts = (): void => {
    markLostHosts(store, clock.now(), hostTimeoutMs, new Set(channel.connectedHosts()), (trx) =>
      leadership.fence(trx),
    )
      .then((lost) => {
        for (const host of lost)
          log.warn("host lost", { hostId: host.hostId, tasks: host.taskArns.length });
        if (lost.length > 0) kickReconciler();
      })
      .catch((error: unknown) => log.error("host watch failed", { error: String(error) }));
  };

  // CloudWatch Logs retention: expired events are deleted in the background.
  let logRetention: { close(): Promise<void> } | undefined;

  const kickReconciler = (): void => {
    if (leadership.isHeld()) reconciler.kick();
    consoleChanges.publish({ kind: "service" });
  };
  const leaderRoles: LeaderRole[] = [
    { name: "reconciler", start: () => reconciler.start(), stop: () => reconciler.stop() },
    { name: "autoscaler", start: () => autoscaler.start(), stop: () => autoscaler.stop() },
    { name: "spot", start: () => spot.start(), stop: () => spot.close() },
    {
      name: "host liveness",
      start: () => (hostWatch = setInterval(watchHosts, 1000)),
      stop: () => clearInterval(hostWatch),
    },
    {
      name: "registry maintenance",
      start: () => registry.startMaintenance(),
      stop: () => registry.stopMaintenance(),
    },
    {
      name: "log retention",
      start: () => (logRetention = startLogRetention({ store, clock, log })),
      stop: () => logRetention?.close(),
    },
  ];
  const gateway = new AwsJsonGateway({
    services: [
      createEcsService({
        store,
        dispatcher,
        stopper,
        registryCredentials,
        kickServices: () => kickReconciler(),
        serviceTargets: targets,
      }),
      createCostExplorerService({ billing }),
      ecr,
      createLogsService({ store }),
      createAutoscalingService({ store }),
    ],
    credentials: lookupCredentials,
    authorizer,
    identity: options.identity,
    clock,
    log,
  });
  // EKS: the Kubernetes API of its clusters listens apart, over TLS with Berth's CA.
  const kube = new Kubernetes({
    store,
    credentials: lookupCredentials,
    authorizer,
    clock,
    log,
    dataDir: options.dataDir,
    host: options.host,
    port: options.kubePort ?? 0,
    region: options.identity.region,
    // A pod is one task, run through RegisterTaskDefinition and RunTask in the cluster's ECS cluster.
    pods: {
      ...podTaskLauncher({
        store,
        dispatcher,
        stopper,
        registryCredentials,
        ctx: () => ({
          requestId: newRequestId(),
          identity: options.identity,
          clock,
          log,
          accessKeyId: "eks-fargate",
          principal: rootPrincipal(options.identity.accountId),
        }),
      }),
      // `kubectl logs` reads a pod's task output the way `berth logs` does.
      logs: (taskArn, request, onLines) =>
        openTaskLogs({ store, channel }, taskArn, request, onLines),
      // `kubectl exec` runs in the pod's task the way `berth exec` does.
      exec: (taskArn, request, sink) => openTaskExec({ store, channel }, taskArn, request, sink),
    },
  });
  await kube.start();
  kubeTaskChanged = () => kube.taskChanged();
  // The listener's TLS side (agents on other machines, registry clients): Berth's one CA, the
  // one EKS's Kubernetes API uses too; agents pin it by the hash the join line prints.
  const pki = join(options.dataDir, "pki");
  const ca = await ensureCertificateAuthority(pki);
  const serving = await issueServingCertificate(
    ca,
    pki,
    "berth-server",
    servingNames(options.host),
  );
  const ecsClusters = ecsClusterLifecycle(store);
  const restGateway = new AwsRestJsonGateway({
    services: [
      createEksService({
        store,
        hooks: {
          endpoint: (name) => kube.server.endpoint(name),
          certificateAuthorityData: () => kube.server.certificateAuthorityData,
          createClusterWorkloads: async (name, ctx) => {
            await ecsClusters.create(name, ctx);
            await kube.initCluster(name);
          },
          deleteClusterWorkloads: async (name, ctx) => {
            await kube.dropCluster(name);
            // ECS refuses while tasks are active; the cluster then stays until they stop.
            await ecsClusters.delete(name, ctx).catch(() => undefined);
          },
        },
      }),
    ],
    credentials: lookupCredentials,
    authorizer,
    identity: options.identity,
    clock,
    log,
  });
  const queryGateway = new AwsQueryGateway({
    services: [
      createElbv2Service({
        store,
        plane: loadBalancers,
        targetCidrs: [
          ...(options.taskCidr === undefined ? DEFAULT_TARGET_CIDRS : [options.taskCidr]),
          ...(options.elbTargetCidrs ?? []),
        ],
      }),
      createIamService({ store }),
      createStsService({ store }),
    ],
    credentials: lookupCredentials,
    authorizer,
    identity: options.identity,
    clock,
    log,
  });
  // The console's charts: each period's datapoints, as the autoscaler's collection left them.
  const metricsHistory = new MetricsHistory();
  const metricsWatch = setInterval(
    () => {
      if (metricsHistory.record(metrics.latest)) consoleChanges.publish({ kind: "metrics" });
    },
    Math.min(periodMs, 5_000),
  );
  metricsWatch.unref();
  const consoleRoutes = new ConsoleRoutes({
    metrics: metricsHistory,
    store,
    sessions: new ConsoleSessions({ store, credentials: lookupCredentials, clock }),
    gateway,
    changes: consoleChanges,
    openLogs: (taskArn, request, onLines, beforeStream) =>
      openTaskLogs({ store, channel }, taskArn, request, onLines, beforeStream),
    clock,
    log,
    ...(options.consoleAuthorizer === undefined ? {} : { authorize: options.consoleAuthorizer }),
  });
  let ready = false;
  // Known once the listener is bound.
  let joinCommand = (token: string): string => token;
  const server = createBerthServer({
    gateway,
    queryGateway,
    restGateway,
    log,
    isReady: () => ready,
    storeAnswers: async () => {
      try {
        await store.selectFrom("clusters").select("name").limit(1).execute();
        return true;
      } catch (error) {
        log.error("the store does not answer", {
          error: error instanceof Error ? error.message : String(error),
        });
        return false;
      }
    },
    metrics: (res) => serveMetrics(res, metrics.latest, periodMs),
    console: consoleRoutes,
    registry: createRegistryHandler({ registry, credentials: lookupCredentials, authorizer, log }),
    berthRoutes: async (req, res, path) => {
      if (
        path.startsWith("/_berth/billing/") &&
        (await serveBillingRoute(req, res, path, {
          billing,
          credentials: lookupCredentials,
          authorizer,
          clock,
        }))
      )
        return true;
      if (path === SPOT_INTERRUPT_PATH && req.method === "POST") {
        await serveSpotInterrupt(req, res, {
          credentials: lookupCredentials,
          authorizer,
          clock,
          interrupt: (selection) => spot.interrupt(selection),
        });
        return true;
      }
      if (path.startsWith(TOKENS_PATH))
        return serveTokens(req, res, path, {
          store,
          credentials: lookupCredentials,
          authorizer,
          clock,
          joinCommand: (token) => joinCommand(token),
        });
      if (req.method !== "GET") return false;
      if (path === TASK_LOGS_PATH)
        await serveTaskLogs(req, res, {
          store,
          channel,
          credentials: lookupCredentials,
          authorizer,
          clock,
        });
      else if (path === TASK_PROGRESS_PATH)
        await serveTaskProgress(req, res, {
          progress,
          credentials: lookupCredentials,
          authorizer,
          clock,
        });
      else return false;
      return true;
    },
  });
  server.keepAliveTimeout = 65_000;
  const exec = new ExecRoute({
    store,
    channel,
    credentials: lookupCredentials,
    authorizer,
    clock,
    log,
  });
  server.on("upgrade", (req, socket, head: Buffer) => {
    const path = (req.url ?? "").split("?", 1)[0];
    if (path === AGENT_CHANNEL_PATH) channel.handleUpgrade(req, socket, head);
    else if (path === TASK_EXEC_PATH) exec.handleUpgrade(req, socket, head);
    else socket.destroy();
  });
  const front = await listenBerth(server, {
    host: options.host,
    port: options.port,
    // The CA follows the serving certificate: a joining agent finds there the CA it pins.
    tls: { cert: serving.certificatePem + ca.certificatePem, key: serving.keyPem },
    log,
  });
  ready = true;
  const leader = leadRoles(leadership, leaderRoles, log);
  const port = front.port;
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  registryHost = `${host === "0.0.0.0" ? "127.0.0.1" : host}:${port}`;
  const endpoint = `http://${host === "0.0.0.0" ? "127.0.0.1" : host}:${port}`;
  await peers.start(endpoint, registryHost);
  const agentEndpoint = endpoint.replace(/^http:/, "https:");
  const pin = caCertHash(ca.certificatePem);
  joinCommand = (token) =>
    `berth agent --server ${agentEndpoint} --token ${token} --ca-cert-hash ${pin}`;
  // The local host speaks over the channel like any other, with a credential the server
  // records directly (it is this process), so no join token is minted for it.
  const localAgent = options.localAgent
    ? await startLocalAgent({
        server: endpoint,
        dataDir: localAgentDir,
        log,
      })
    : undefined;
  return {
    createJoinToken: (spec) => createJoinToken(store, clock.now(), spec),
    ...(localAgent === undefined ? {} : { localAgent }),
    endpoint,
    agentEndpoint,
    caCertHash: pin,
    joinCommand: (token) => joinCommand(token),
    port,
    credentials: resolved.credentials,
    credentialsSource: resolved.source,
    billing,
    loadBalancers,
    awsServices: [...gateway.services, ...queryGateway.services],
    async close() {
      ready = false;
      clearInterval(metricsWatch);
      await leader.stop();
      await loadBalancers.close();
      await localAgent?.close();
      await exec.close();
      await kube.close();
      peers.stop();
      await relay.stop();
      await clusterNetworks.stop();
      await subnetRoutes.clear();
      await notifier.close();
      await channel.close();
      await front.close();
      await registry.stop();
      await store.destroy();
      lock.release();
    },
  };
}
