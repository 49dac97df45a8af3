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
  type AwsRestJsonService,
  type Credentials,
  internalContext,
} from "../aws/index.js";
import {
  caCertHash,
  createLogger,
  ensureCertificateAuthority,
  ensurePrivateDir,
  issueServingCertificate,
  lockDataDir,
  openMasterKey,
  systemClock,
  type Clock,
  type Identity,
  type Logger,
} from "../core/index.js";
import { Billing, formatCents } from "../billing/index.js";
import { CONSOLE_LINK_PATH, consoleLinkPath, serveConsoleLink } from "./console-link-route.js";
import { serveBillingRoute } from "./billing-routes.js";
import { createAutoscalingService } from "../services/autoscaling/index.js";
import { createCostExplorerService } from "../services/costexplorer/index.js";
import { createEksService } from "../services/eks/index.js";
import {
  createSchedulerService,
  ensureDefaultScheduleGroup,
  ScheduleRunner,
  scheduleClockFrom,
} from "../services/scheduler/index.js";
import { Kubernetes } from "../kube/index.js";
import {
  createEcsService,
  ecsClusterLifecycle,
  podTaskLauncher,
  scheduledTaskRunner,
  ensureDefaultCluster,
  serviceDesiredCountSetter,
  serviceLauncher,
} from "../services/ecs/index.js";
import {
  AgentChannelServer,
  AssignmentRelay,
  Autoscaler,
  createJoinToken,
  enrollLocalHost,
  ServiceMetrics,
  ServiceReconciler,
  SpotInterrupter,
  TaskCommands,
  UsageSeries,
  UsageShare,
  type UsageSample,
  containerSeriesKey,
  type JoinTokenInfo,
  type JoinTokenSpec,
  taskBillingFacts,
  tasksPulledBefore,
  Lease,
  type Fence,
  leadRoles,
  type LeaderRole,
  DEFAULT_TASK_CIDR,
  ClusterNetworks,
  taskRoleCredentials,
  heartbeatEveryFor,
  writeEveryFor,
} from "../control/index.js";
import { AGENT_CHANNEL_PATH, type TaskAssignment } from "../protocol/index.js";
import { HostDispatcher } from "./host-dispatcher.js";
import { shipTaskLogEvents } from "./task-log-access.js";
import { resolveTaskSecrets } from "./task-secrets.js";
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
  keyAuthorizer,
  iamCredentialLookup,
  roleCredentials,
  roleSessionPrincipal,
  SCHEDULER_SERVICE,
  ecsRoleGate,
} from "../services/iam/index.js";
import { createLogsService, startLogRetention } from "../services/logs/index.js";
import { createSecretsManagerService } from "../services/secretsmanager/index.js";
import { createSsmService } from "../services/ssm/index.js";
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
import type { SignedRouteOptions } from "./route-access.js";
import { serveTokens, TOKENS_PATH } from "./token-routes.js";
import { Peers } from "./peers.js";
import { shareCertificateAuthority } from "./shared-ca.js";
import {
  ConsoleChangeRelay,
  ConsoleChanges,
  ConsoleRoutes,
  ConsoleSessions,
  MetricsHistory,
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
  /**
   * Seconds without a heartbeat before a host is LOST (agents are asked to heartbeat every sixth
   * of it, from 2 s to 5 s: heartbeats.ts).
   */
  hostTimeoutSeconds?: number;
  /** Between a Spot interruption's warning and the stop (Fargate gives 120 s). */
  spotWarningSeconds?: number;
  /** Random Spot interruptions per Spot task-hour (0: only `berth spot interrupt`). */
  spotInterruptionsPerHour?: number;
  /** Where load balancer listeners bind (default 127.0.0.1). */
  elbAddress?: string;
  /**
   * Ranges besides the task subnets (`taskCidr`, default 100.64.0.0/10) that ELB `ip` targets
   * may be in (`--elb-target-cidr`), e.g. 127.0.0.1/32 for a process on the host.
   */
  elbTargetCidrs?: string[];
  /** One metric datapoint per this many seconds (CloudWatch: 60); autoscaling timing follows. */
  metricPeriodSeconds?: number;
}

export interface RunningBerth {
  /** Creates a token a `berth agent` on another host joins with. */
  createJoinToken(spec?: JoinTokenSpec): Promise<{ token: string; info: JoinTokenInfo }>;
  /** A one-time console sign-in URL for the server's own key (`berth up` prints one). */
  createConsoleLink(): Promise<string>;
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
  awsServices: readonly (AwsJsonService | AwsQueryService | AwsRestJsonService)[];
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
  // What schedules (EventBridge Scheduler) fire by: a start and a speed for tests, else `clock`.
  const scheduleClock =
    scheduleClockFrom((options.env ?? process.env).BERTH_SCHEDULE_CLOCK) ?? clock;
  await ensureDefaultScheduleGroup(store, options.identity, scheduleClock.now().getTime());

  const billing = new Billing({
    store,
    // The tasks the control plane keeps are what the meter bills.
    source: { tasksPulledBefore: (before, after) => tasksPulledBefore(store, before, after) },
    clock,
    log,
    dataDir: options.dataDir,
    identity: options.identity,
  });

  // The key `berth up` prints is the account's root; IAM users' keys and STS sessions are
  // in the store. Every front door looks keys up and authorizes callers the same way.
  const lookupCredentials = iamCredentialLookup(store, options.identity, resolved.credentials);
  const authorizer = new IamAuthorizer(store);
  // What Berth's own signed routes check callers with, and the AWS front doors besides.
  const signed: SignedRouteOptions = { credentials: lookupCredentials, authorizer, clock };
  const gatewayOptions = { ...signed, identity: options.identity, log };
  // Sessions of roles for ECS tasks (task roles; execution roles' pulls and secret reads).
  const credentialsForRole = roleCredentials({
    store,
    identity: options.identity,
    clock,
    // ECS: about six hours, rotated before they end; tests shorten it to see expiry and rotation.
    ...sessionSecondsOption(options.env?.BERTH_TASK_ROLE_SESSION_SECONDS),
  });
  // Secrets and SecureStrings are sealed under the data dir's master key (envelope encryption).
  const sealer = openMasterKey(options.dataDir);
  const registry = new Registry({
    root: options.blobDir ?? join(options.dataDir, "registry"),
    store,
    identity: options.identity,
    clock,
    log,
    credentials: lookupCredentials,
    autoCreate: options.registryAutoCreate,
    maintainedByLeader: true,
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

  // What the console's live stream tells browsers: tasks reported, services reconciled.
  const consoleChanges = new ConsoleChanges();
  // Load balancers: the API keeps their configuration, the data plane listens and proxies.
  const loadBalancers = new LoadBalancerPlane({
    store,
    log,
    address: options.elbAddress,
    onHealthChange: () => consoleChanges.publish({ kind: "targets" }),
  });
  await loadBalancers.start();

  // Metrics: agents sample their tasks' cgroups a few times per period; one datapoint per period.
  const periodMs = (options.metricPeriodSeconds ?? 60) * 1000;
  const usageWindowMs = Math.max(5 * periodMs, 60_000);
  const usage = new UsageSeries(usageWindowMs);
  const usageIntervalMs = Math.min(10_000, Math.max(250, Math.floor(periodMs / 4)));
  // Several servers: samples reach the one an agent is connected to, and are shared through
  // the store so the leader's auto scaling sees every host's tasks.
  const usageShare =
    dialectOf(store) === "postgres"
      ? new UsageShare({
          store,
          series: usage,
          serverId: serverId(options.dataDir),
          intervalMs: usageIntervalMs,
          windowMs: usageWindowMs,
          now: () => clock.now().getTime(),
          log,
        })
      : undefined;
  usageShare?.start();
  const metrics = new ServiceMetrics({
    store,
    series: usage,
    periodMs,
    requests: loadBalancers,
  });

  const progress = new PullProgress();
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
  const hostTimeoutMs = (options.hostTimeoutSeconds ?? 30) * 1000;
  const channel = new AgentChannelServer({
    store,
    clock,
    log,
    heartbeatIntervalMs: heartbeatEveryFor(hostTimeoutMs),
    heartbeatWriteEveryMs: writeEveryFor(hostTimeoutMs),
    plainAllowed: (hostId, remote) => hostId === localHostId && isThisMachine(remote),
    // An agent on another machine cannot reach 127.0.0.1:PORT: it pulls these from the server.
    registryNames: () => [registryHost],
    // A starting task's secrets and registry login, as its execution role, over the channel only.
    resolveSecrets: (hostId, taskArn) =>
      resolveTaskSecrets(
        {
          store,
          sealer,
          authorizer,
          identity: options.identity,
          now: () => clock.now().getTime(),
          registryHosts: () => registryHosts(),
          registryAuth: async (roleArn, sessionName) => {
            const session = await credentialsForRole(roleArn, sessionName);
            const { password } = mintRegistryPassword(
              {
                accessKeyId: session.accessKeyId,
                secretAccessKey: session.secretAccessKey,
                expiresAt: session.expiration,
              },
              clock.now(),
            );
            return { username: REGISTRY_USER, password };
          },
        },
        hostId,
        taskArn,
      ),
    onHostConnected: (hostId) => clusterNetworks.connected(hostId),
    // A task's role credentials, for the agent that runs it (its credentials endpoint).
    onCredentialsRequest: (hostId, taskArn) =>
      taskRoleCredentials(
        store,
        async (roleArn, sessionName) => {
          const session = await credentialsForRole(roleArn, sessionName);
          return {
            accessKeyId: session.accessKeyId,
            secretAccessKey: session.secretAccessKey,
            sessionToken: session.sessionToken,
            expiration: session.expiration.getTime(),
          };
        },
        hostId,
        taskArn,
      ),
    usageIntervalMs,
    // Samples are placed on the server's clock when they arrive: periods are the server's, and
    // a host's clock may be off by more than a period.
    onUsage: ({ tasks }) => {
      const at = clock.now().getTime();
      const received: Array<{ key: string; sample: UsageSample }> = [];
      for (const { taskArn, cpuNanos, memoryBytes, containers = [] } of tasks) {
        received.push({ key: taskArn, sample: { at, cpuNanos, memoryBytes } });
        for (const c of containers)
          received.push({
            key: containerSeriesKey(taskArn, c.name),
            sample: { at, cpuNanos: c.cpuNanos, memoryBytes: c.memoryBytes },
          });
      }
      for (const { key, sample } of received) usage.record(key, sample);
      usageShare
        ?.publish(received)
        .catch((error: unknown) =>
          log.warn("sharing usage samples failed", { error: String(error) }),
        );
    },
    onProgress: ({ taskArn, container, bytesDone, bytesTotal }) =>
      progress.record(taskArn, { container, bytesDone, bytesTotal }),
    // The awslogs driver's lines, exactly once by their offsets, as the task's execution role.
    onLogEvents: (hostId, batch) =>
      shipTaskLogEvents(
        { store, authorizer, identity: options.identity, now: () => clock.now() },
        hostId,
        batch,
      ),
    // A task that reached STOPPED is metered at once (reports also catch any this misses).
    onTaskChanged: (taskArn, lastStatus) => {
      kubeTaskChanged();
      consoleChanges.publish({ kind: "task", taskArn });
      // Only a stop is metered: its billing facts (three queries) are not read for the reports
      // before it.
      if (lastStatus !== "STOPPED") return;
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
    // One server on SQLite sends its own assignments: it polls only for stops held by a drain
    // (a restart during one forgets the wait; the stop goes out once drained).
    ...(dialectOf(store) === "postgres"
      ? { intervalMs: 1_000 }
      : { intervalMs: 5_000, poll: "stops" as const }),
  });
  relay.start();
  clusterNetworks.start();
  // Every server of the store mints the same password (they share the account's keys), so a
  // task gets it for each server's registry: its image may have been pushed through any.
  const peers = new Peers({
    store,
    notifier,
    serverId: serverId(options.dataDir),
    now: () => clock.now().getTime(),
    log,
  });
  // Berth's own registry under every server's name: a task's image may have been pushed to any.
  const registryHosts = (): string[] => {
    const hosts = peers.registries();
    return hosts.length > 0 ? hosts : [registryHost];
  };
  // Fargate pulls a private ECR image with the task's execution role and fails a task without
  // one; a task with one pulls as that role here too (task-secrets.ts), one without pulls
  // Berth's own registry with this platform password, so definitions registered without
  // executionRoleArn (the tour, most tests) keep running.
  const registryCredentials = (): TaskAssignment["registryCredentials"] => {
    const password = mintRegistryPassword(resolved.credentials, clock.now()).password;
    return registryHosts().map((registry) => ({ registry, username: REGISTRY_USER, password }));
  };
  const targets = serviceTargets(store, loadBalancers, clock);
  const dispatcher = new HostDispatcher({
    relay,
    registry,
    registryHosts,
    clusterNetworks,
    addresses: machineAddressSpace(options.taskCidr ?? DEFAULT_TASK_CIDR, options.dataDir),
    log,
  });
  // Every start (RunTask, pods, the service launcher) and every stop (StopTask, pods, the
  // reconciler, Spot, lost hosts) goes through this one object.
  const tasks = new TaskCommands({ store, hosts: dispatcher, targets, log });
  // Services: the reconciler decides, the ECS layer's launcher starts their tasks.
  // The singleton roles run on one server at a time: the one holding the control plane's lease
  // (with SQLite there is one server, which takes it at start).
  const leadership = new Lease({
    store,
    role: "control-plane",
    holder: serverId(options.dataDir),
    log,
  });
  const fence: Fence = (trx) => leadership.fence(trx);
  const reconciler = new ServiceReconciler({
    store,
    clock,
    log,
    tasks,
    fence,
    launcher: serviceLauncher({
      store,
      tasks,
      registryCredentials,
      kick: () => kickReconciler(),
      identity: options.identity,
      clock,
    }),
    targets,
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
      fence,
    }),
  });
  const spot = new SpotInterrupter({
    store,
    clock,
    log,
    warningMs: (options.spotWarningSeconds ?? 120) * 1000,
    randomRatePerHour: options.spotInterruptionsPerHour ?? 0,
    tasks,
    onInterrupted: () => kickReconciler(),
    fence,
  });
  // Hosts that fall silent are LOST: their tasks stop, and services replace them elsewhere.
  let hostWatch: NodeJS.Timeout | undefined;
  // Set when this server becomes the leader: hosts get one timeout from then to be heard from.
  let watchingHostsSince = new Date(0);
  const watchHosts = (): void => {
    const pass = {
      now: clock.now(),
      timeoutMs: hostTimeoutMs,
      connected: new Set(channel.connectedHosts()),
      watchingSince: watchingHostsSince,
    };
    tasks
      .stopLostHosts(pass, fence)
      .then((lost) => {
        for (const host of lost)
          log.warn("host lost", { hostId: host.hostId, tasks: host.taskArns.length });
        if (lost.length > 0) kickReconciler();
      })
      .catch((error: unknown) => log.error("host watch failed", { error: String(error) }));
  };

  // CloudWatch Logs retention: expired events are deleted in the background.
  let logRetention: { close(): Promise<void> } | undefined;

  // Sessions of a schedule's role, one per run, short: a run is one RunTask.
  const schedulerSession = roleSessionPrincipal({
    store,
    identity: options.identity,
    clock,
    service: SCHEDULER_SERVICE,
    sessionSeconds: 900,
  });
  // Scheduled tasks: due schedules fire through RunTask itself, on the leader alone.
  const scheduleRunner = new ScheduleRunner({
    store,
    clock: scheduleClock,
    log,
    fence,
    runTask: scheduledTaskRunner({
      store,
      tasks,
      registryCredentials,
      roles: ecsRoleGate(store, options.identity, authorizer),
      authorizer,
      // As on AWS: Scheduler assumes the target's RoleArn (trust for scheduler.amazonaws.com)
      // and calls RunTask as that session, whose policies limit what a schedule starts.
      ctx: async (roleArn, sessionName) => {
        const { accessKeyId, principal } = await schedulerSession(roleArn, sessionName);
        return internalContext({ identity: options.identity, clock, log }, accessKeyId, principal);
      },
    }),
  });
  const kickScheduleRunner = (): void => {
    if (leadership.isHeld()) scheduleRunner.kick();
  };

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
      start: () => {
        watchingHostsSince = clock.now();
        hostWatch = setInterval(watchHosts, 1000);
      },
      stop: () => clearInterval(hostWatch),
    },
    {
      name: "registry maintenance",
      start: () => registry.startMaintenance(fence),
      stop: () => registry.stopMaintenance(),
    },
    {
      name: "scheduled tasks",
      start: () => scheduleRunner.start(),
      stop: () => scheduleRunner.stop(),
    },
    {
      name: "log retention",
      start: () => (logRetention = startLogRetention({ store, clock, log, fence })),
      stop: () => logRetention?.close(),
    },
  ];
  const gateway = new AwsJsonGateway({
    services: [
      createEcsService({
        store,
        tasks,
        addresses: dispatcher.addresses,
        registryCredentials,
        kickServices: () => kickReconciler(),
        serviceTargets: targets,
        roles: ecsRoleGate(store, options.identity, authorizer),
      }),
      createCostExplorerService({ billing }),
      ecr,
      createLogsService({ store }),
      createAutoscalingService({ store }),
      createSecretsManagerService({ store, sealer }),
      createSsmService({ store, sealer }),
    ],
    ...gatewayOptions,
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
    // 0 reuses the last port if free, else any.
    port: 0,
    region: options.identity.region,
    // A pod is one task, run through RegisterTaskDefinition and RunTask in the cluster's ECS cluster.
    pods: {
      ...podTaskLauncher({
        store,
        tasks,
        registryCredentials,
        ctx: () => internalContext({ identity: options.identity, clock, log }, "eks-fargate"),
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
      createSchedulerService({
        store,
        clock: scheduleClock,
        kickRunner: kickScheduleRunner,
      }),
    ],
    ...gatewayOptions,
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
    ...gatewayOptions,
  });
  // The console's charts: each period's datapoints, as the autoscaler's collection (on the
  // leader) left them, kept in the store for every server and across restarts.
  const metricsHistory = new MetricsHistory(store);
  let recording: Promise<void> = Promise.resolve();
  const metricsWatch = setInterval(
    () => {
      recording = recording
        .then(async () => {
          if (await metricsHistory.record(metrics.latest))
            consoleChanges.publish({ kind: "metrics" });
        })
        .catch((error: unknown) =>
          log.warn("keeping the charts' datapoints failed", { error: String(error) }),
        );
    },
    Math.min(periodMs, 5_000),
  );
  metricsWatch.unref();
  // Several servers: each one's changes reach the browsers of the others.
  const consoleRelay =
    dialectOf(store) === "postgres"
      ? new ConsoleChangeRelay({
          store,
          changes: consoleChanges,
          serverId: serverId(options.dataDir),
          notifier,
          now: () => clock.now().getTime(),
          log,
        })
      : undefined;
  await consoleRelay?.start();
  const consoleSessions = new ConsoleSessions({ store, credentials: lookupCredentials, clock });
  const consoleRoutes = new ConsoleRoutes({
    metrics: metricsHistory,
    savings: async (from, to) => {
      const s = await billing.savings(from, to);
      return {
        spot: {
          cost: formatCents(s.spotCost),
          onDemand: formatCents(s.spotOnDemand),
          saved: formatCents(s.spotOnDemand - s.spotCost),
        },
        savingsPlans: {
          commitment: formatCents(s.plansCommitment),
          onDemand: formatCents(s.plansOnDemand),
          saved: formatCents(s.plansOnDemand - s.plansCommitment),
        },
      };
    },
    store,
    sessions: consoleSessions,
    gateway,
    queryGateway,
    changes: consoleChanges,
    openLogs: (taskArn, request, onLines, beforeStream) =>
      openTaskLogs({ store, channel }, taskArn, request, onLines, beforeStream),
    clock,
    log,
    identity: options.identity,
    // What the console reads from the store itself: the key's IAM policies, as the front doors
    // check them (the root key: all).
    authorize: keyAuthorizer(lookupCredentials, authorizer),
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
        (await serveBillingRoute(req, res, path, { ...signed, billing }))
      )
        return true;
      if (path === CONSOLE_LINK_PATH && req.method === "POST") {
        await serveConsoleLink(req, res, { ...signed, sessions: consoleSessions });
        return true;
      }
      if (path === SPOT_INTERRUPT_PATH && req.method === "POST") {
        await serveSpotInterrupt(req, res, {
          ...signed,
          interrupt: (selection) => spot.interrupt(selection),
        });
        return true;
      }
      if (path.startsWith(TOKENS_PATH))
        return serveTokens(req, res, path, {
          ...signed,
          store,
          joinCommand: (token) => joinCommand(token),
        });
      if (req.method !== "GET") return false;
      if (path === TASK_LOGS_PATH) await serveTaskLogs(req, res, { ...signed, store, channel });
      else if (path === TASK_PROGRESS_PATH)
        await serveTaskProgress(req, res, { ...signed, progress });
      else return false;
      return true;
    },
  });
  server.keepAliveTimeout = 65_000;
  const exec = new ExecRoute({ ...signed, store, channel, log });
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
    createConsoleLink: async () =>
      `${endpoint}${consoleLinkPath(await consoleSessions.createLink(resolved.credentials.accessKeyId))}`,
    port,
    credentials: resolved.credentials,
    credentialsSource: resolved.source,
    billing,
    loadBalancers,
    awsServices: [...gateway.services, ...queryGateway.services, ...restGateway.services],
    async close() {
      ready = false;
      clearInterval(metricsWatch);
      await recording;
      await consoleRelay?.stop();
      await leader.stop();
      await loadBalancers.close();
      await localAgent?.close();
      await exec.close();
      await kube.close();
      peers.stop();
      await relay.stop();
      await usageShare?.stop();
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

/** A positive whole number of seconds, or nothing (the default six hours). */
function sessionSecondsOption(value: string | undefined): { sessionSeconds?: number } {
  const seconds = Number(value);
  return value !== undefined && Number.isInteger(seconds) && seconds > 0
    ? { sessionSeconds: seconds }
    : {};
}
