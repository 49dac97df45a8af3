/**
 * The messages between the control plane and agents, shared by both sides so that neither
 * imports the other. Each message has one zod schema that yields both the runtime check (every
 * message crossing the channel is parsed: it is a trust boundary) and its TypeScript type.
 *
 * The protocol is level-triggered: on every (re)connect the agent says what it runs and the
 * server answers with everything that host should run (`sync`); `assign` and `stop` are only
 * prompt nudges between syncs. Reports are full snapshots of one task's actual state, numbered
 * per host; the server applies each sequence number once and acks it, so a report repeated
 * after a reconnect changes nothing.
 */
import { z } from "zod";

export const PROTOCOL_VERSION = 1;
export const AGENT_CHANNEL_PATH = "/_berth/agent";
/**
 * Every agent connects with its host id and its own credential (a secret it made at its join);
 * until the server has recorded that credential it also shows a join token (`Authorization:
 * Bearer <id>.<secret>`).
 */
export const HOST_ID_HEADER = "x-berth-host-id";
export const HOST_SECRET_HEADER = "x-berth-host-secret";

const KeyValue = z.object({ name: z.string(), value: z.string() });

export const ContainerAssignment = z.object({
  name: z.string(),
  /** For the task metadata endpoint; optional: older assignments have none. */
  containerArn: z.string().optional(),
  image: z.string(),
  /**
   * The digest the image's tag named when the server dispatched the task (images of Berth's own
   * registry): the agent pulls that digest, so an image already on the host needs no registry
   * call. Optional: other registries' images, and older servers, have none.
   */
  imageDigest: z.string().optional(),
  essential: z.boolean(),
  /** Already merged: container definition + RunTask overrides (image config merged by the agent). */
  command: z.array(z.string()).optional(),
  entryPoint: z.array(z.string()).optional(),
  environment: z.array(KeyValue),
  workingDirectory: z.string().optional(),
  user: z.string().optional(),
  cpu: z.number().int().nonnegative(),
  memory: z.number().int().positive().optional(),
  memoryReservation: z.number().int().positive().optional(),
  readonlyRootFilesystem: z.boolean(),
  initProcessEnabled: z.boolean(),
  capabilitiesAdd: z.array(z.string()),
  capabilitiesDrop: z.array(z.string()),
  ulimits: z.array(
    z.object({ name: z.string(), softLimit: z.number().int(), hardLimit: z.number().int() }),
  ),
  dockerLabels: z.record(z.string(), z.string()),
  dependsOn: z.array(
    z.object({
      containerName: z.string(),
      condition: z.enum(["START", "COMPLETE", "SUCCESS", "HEALTHY"]),
    }),
  ),
  /** Seconds between SIGTERM and SIGKILL (ECS default 30, max 120). */
  stopTimeout: z.number().int().min(0).max(120),
  /** The container's health check, with ECS's defaults filled in (seconds). */
  healthCheck: z
    .object({
      command: z.array(z.string()).min(1),
      interval: z.number().int(),
      timeout: z.number().int(),
      retries: z.number().int(),
      startPeriod: z.number().int(),
    })
    .optional(),
  /** The awslogs driver: ship stdout/stderr to this log group, stream PREFIX/CONTAINER/TASK_ID. */
  awslogs: z.object({ group: z.string(), stream: z.string(), createGroup: z.boolean() }).optional(),
  /** The task's scratch volumes this container mounts: its mountPoints, then its volumesFrom. */
  mountPoints: z
    .array(z.object({ sourceVolume: z.string(), containerPath: z.string(), readOnly: z.boolean() }))
    .optional(),
  /**
   * The container definition's `secrets`: references only. Their values are asked of the
   * server when the task starts (`secretsRequest`) and never written down by either side.
   */
  secrets: z.array(z.object({ name: z.string(), valueFrom: z.string() })).optional(),
  /** A private registry's credentials: a secret holding `{"username","password"}`. */
  repositoryCredentials: z.object({ credentialsParameter: z.string() }).optional(),
});
export type ContainerAssignment = z.infer<typeof ContainerAssignment>;

/** One container's resolved secrets: its secret environment and its registry credential. */
export const ContainerSecrets = z.object({
  name: z.string(),
  environment: z.array(KeyValue),
  registryCredential: z.object({ username: z.string(), password: z.string() }).optional(),
});
export type ContainerSecrets = z.infer<typeof ContainerSecrets>;

export const RegistryCredential = z.object({
  /** host:port the credential is for. */
  registry: z.string(),
  username: z.string(),
  password: z.string(),
});

export const TaskAssignment = z.object({
  taskArn: z.string(),
  /** The OCI runtime of the task's containers; the host's default (runc) when absent. */
  runtime: z.enum(["runc", "runsc"]).optional(),
  taskId: z.string(),
  clusterArn: z.string(),
  family: z.string(),
  /** The task definition's revision (for the task metadata endpoint); optional as above. */
  revision: z.number().int().optional(),
  /** CPU units (1024 = one vCPU) and MiB: the task's hard limits. */
  cpu: z.number().int().positive(),
  memory: z.number().int().positive(),
  /** The task's ephemeral storage, GiB; 20 (Fargate's default) when absent. */
  ephemeralStorageGiB: z.number().int().positive().optional(),
  /** `task`: one PID namespace shared by all the task's containers (the definition's pidMode). */
  pidMode: z.enum(["task"]).optional(),
  desiredStatus: z.enum(["RUNNING", "STOPPED"]),
  /** Why the task should stop, when desiredStatus is STOPPED. */
  stopCode: z.string().optional(),
  stoppedReason: z.string().optional(),
  containers: z.array(ContainerAssignment).min(1),
  registryCredentials: z.array(RegistryCredential),
  /**
   * The host's subnet of the cluster's block (CIDR), allocated by the control plane: the task's
   * address is taken inside it. Absent (an older server), the agent picks a subnet itself.
   */
  subnet: z.string().optional(),
  /** The Region the task runs in (AWS_REGION in its containers); absent from older servers. */
  region: z.string().optional(),
  /**
   * The task definition's taskRoleArn and the id its containers' credentials endpoint
   * (`/v2/credentials/<credentialsId>`) answers to; the credentials themselves are asked for
   * over the channel (`credentialsRequest`) when a container first wants them.
   */
  taskRole: z.object({ roleArn: z.string(), credentialsId: z.string().uuid() }).optional(),
  /**
   * The task's execution role (the definition's, or RunTask's override). With one, the agent
   * asks for the task's registry auth (made for that role) and secrets before the pull
   * (`secretsRequest`), and `registryCredentials` is empty.
   */
  executionRoleArn: z.string().optional(),
});
export type TaskAssignment = z.infer<typeof TaskAssignment>;

export const LAST_STATUSES = [
  "PROVISIONING",
  "PENDING",
  "ACTIVATING",
  "RUNNING",
  "DEACTIVATING",
  "STOPPING",
  "DEPROVISIONING",
  "STOPPED",
] as const;
export type LastStatus = (typeof LAST_STATUSES)[number];

/** Later in the lifecycle has a higher rank; a task never moves back. */
export function statusRank(status: string): number {
  return LAST_STATUSES.indexOf(status as LastStatus);
}

const Timestamp = z.number().optional(); // epoch milliseconds

export const ContainerState = z.object({
  name: z.string(),
  lastStatus: z.enum(["PENDING", "RUNNING", "STOPPED"]),
  runtimeId: z.string().optional(),
  imageDigest: z.string().optional(),
  exitCode: z.number().int().optional(),
  reason: z.string().optional(),
  healthStatus: z.enum(["HEALTHY", "UNHEALTHY", "UNKNOWN"]).optional(),
});
export type ContainerState = z.infer<typeof ContainerState>;

/** The task's interface on its cluster's network (awsvpc), once the agent has attached it. */
export const TaskNetworkState = z.object({
  privateIPv4Address: z.string(),
  macAddress: z.string(),
  /** The cluster's subnet on the task's host (CIDR) and its gateway (the host's side). */
  subnet: z.string(),
  gateway: z.string(),
});
export type TaskNetworkState = z.infer<typeof TaskNetworkState>;

export const TaskState = z.object({
  taskArn: z.string(),
  lastStatus: z.enum(LAST_STATUSES),
  containers: z.array(ContainerState),
  pullStartedAt: Timestamp,
  pullStoppedAt: Timestamp,
  startedAt: Timestamp,
  connectivityAt: Timestamp,
  stoppingAt: Timestamp,
  executionStoppedAt: Timestamp,
  stoppedAt: Timestamp,
  stopCode: z.string().optional(),
  stoppedReason: z.string().optional(),
  healthStatus: z.enum(["HEALTHY", "UNHEALTHY", "UNKNOWN"]).optional(),
  /** Optional: agents from before task networking report none. */
  network: TaskNetworkState.optional(),
});
export type TaskState = z.infer<typeof TaskState>;

export const LogLine = z.object({
  container: z.string(),
  stream: z.enum(["stdout", "stderr"]),
  /** RFC 3339 with nanoseconds, as the monitor wrote it. */
  time: z.string(),
  text: z.string(),
});
export type LogLine = z.infer<typeof LogLine>;

export const AgentMessage = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("hello"),
    protocolVersion: z.number().int(),
    hostId: z.string().min(1).max(128),
    availabilityZone: z.string(),
    cpu: z.number().int().positive(),
    memory: z.number().int().positive(),
    /** What kind of capacity the host offers; on-demand (FARGATE) when absent. */
    capacityProviders: z
      .array(z.enum(["FARGATE", "FARGATE_SPOT"]))
      .min(1)
      .optional(),
    /**
     * GiB of disk the host offers to task storage (its tasks' sizes count against it, as their
     * CPU and memory do); absent from agents that do not measure it.
     */
    taskStorageGiB: z.number().nonnegative().optional(),
    /** Every task the agent holds, with its latest state. */
    tasks: z.array(TaskState),
  }),
  z.object({ type: z.literal("report"), seq: z.number().int().nonnegative(), state: TaskState }),
  /** Alive; with the disk offered to task storage when it changed since the last report. */
  z.object({ type: z.literal("heartbeat"), taskStorageGiB: z.number().nonnegative().optional() }),
  /** A task is starting and its containers name secrets: the server answers `secrets`. */
  z.object({
    type: z.literal("secretsRequest"),
    requestId: z.string().max(64),
    taskArn: z.string(),
  }),
  /** Lines of a task's container logs, answering a `logs` request; `done` ends the stream. */
  z.object({
    type: z.literal("logLines"),
    requestId: z.string(),
    lines: z.array(LogLine),
    done: z.boolean(),
    error: z.string().optional(),
  }),
  /**
   * A batch of a container's output for its awslogs log stream; acked by `logEventsAck`. An
   * empty batch opens the stream (and the group, with createGroup) before the container starts.
   */
  z.object({
    type: z.literal("logEvents"),
    batchId: z.string(),
    /** The task whose container wrote them: the server writes as its execution role. */
    taskArn: z.string(),
    group: z.string(),
    stream: z.string(),
    createGroup: z.boolean(),
    /** `offset` numbers lines along the container's log, so a resent batch adds nothing. */
    events: z
      .array(z.object({ timestamp: z.number(), message: z.string(), offset: z.number().int() }))
      .max(1000),
  }),
  /** Output of an `exec` session (base64, as the process wrote it). */
  z.object({
    type: z.literal("execOutput"),
    requestId: z.string(),
    stream: z.enum(["stdout", "stderr"]),
    data: z.string(),
  }),
  /** The end of an `exec` session: the process's exit code, or why it could not run. */
  z.object({
    type: z.literal("execExit"),
    requestId: z.string(),
    exitCode: z.number().int().optional(),
    error: z.string().optional(),
  }),
  /**
   * Each RUNNING task's CPU and memory read from its cgroup (cumulative CPU), every
   * `usageIntervalMs` the server asked for in `welcome`. Not persisted, not acked.
   */
  z.object({
    type: z.literal("usage"),
    /** Epoch ms on the agent's clock when the cgroups were read (the server uses its own). */
    at: z.number(),
    tasks: z
      .array(
        z.object({
          taskArn: z.string(),
          cpuNanos: z.number().nonnegative(),
          memoryBytes: z.number().nonnegative(),
          /** The same for each running container, from its own cgroup (absent from older agents). */
          containers: z
            .array(
              z.object({
                name: z.string(),
                cpuNanos: z.number().nonnegative(),
                memoryBytes: z.number().nonnegative(),
              }),
            )
            .max(100)
            .optional(),
        }),
      )
      .max(10_000),
  }),
  /** Asks for temporary credentials of a task's role (its `taskRole`); answered by `credentials`. */
  z.object({ type: z.literal("credentialsRequest"), requestId: z.string(), taskArn: z.string() }),
  /** Progress of an image pull, for clients that watch a task start. Not persisted. */
  z.object({
    type: z.literal("progress"),
    taskArn: z.string(),
    container: z.string(),
    bytesDone: z.number(),
    bytesTotal: z.number(),
  }),
]);
export type AgentMessage = z.infer<typeof AgentMessage>;

/** A cluster's network as one host sees it: its subnet and every other host's (issue 15). */
export const ClusterNetworkView = z.object({
  clusterArn: z.string(),
  /** The VXLAN network identifier of the cluster. */
  vni: z.number().int().min(1).max(16_777_215),
  /** The cluster's block and this host's subnet of it (CIDR). */
  block: z.string(),
  subnet: z.string(),
  /** The other hosts with a subnet of the block, at their datacenter addresses. */
  peers: z.array(z.object({ hostId: z.string(), address: z.string(), subnet: z.string() })),
});

export const TaskRoleCredentials = z.object({
  accessKeyId: z.string(),
  secretAccessKey: z.string(),
  sessionToken: z.string(),
  /** Epoch milliseconds. */
  expiration: z.number(),
  roleArn: z.string(),
});
export type TaskRoleCredentials = z.infer<typeof TaskRoleCredentials>;

export const ServerMessage = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("welcome"),
    hostId: z.string(),
    lastSeq: z.number().int(),
    /** How often to send `usage`; absent (an older server), the agent sends none. */
    usageIntervalMs: z.number().int().positive().optional(),
    /** How often to heartbeat; absent (an older server), every 2 s. */
    heartbeatIntervalMs: z.number().int().positive().optional(),
    /**
     * The names (`HOST:PORT`) image URIs give the server's own registry: the agent pulls those
     * from the server it is connected to (over the channel's TLS), whatever the name says.
     */
    registryNames: z.array(z.string()).optional(),
  }),
  z.object({ type: z.literal("sync"), tasks: z.array(TaskAssignment) }),
  /**
   * Every cluster network the host has a subnet of, with its peers; sent at connect and
   * whenever it changes (the whole list: what is not in it is gone).
   */
  z.object({
    type: z.literal("networks"),
    /** The whole task address space. */
    taskCidr: z.string(),
    /** This host's datacenter address as the server sees it; absent: it came over loopback. */
    address: z.string().optional(),
    networks: z.array(ClusterNetworkView),
  }),
  z.object({ type: z.literal("assign"), task: TaskAssignment }),
  z.object({
    type: z.literal("stop"),
    taskArn: z.string(),
    stopCode: z.string(),
    stoppedReason: z.string(),
  }),
  z.object({ type: z.literal("ack"), seq: z.number().int() }),
  /** Asks for a task's logs (all containers, or one); with `follow`, until the task stops. */
  z.object({
    type: z.literal("logs"),
    requestId: z.string(),
    taskArn: z.string(),
    container: z.string().optional(),
    follow: z.boolean(),
  }),
  z.object({ type: z.literal("logsCancel"), requestId: z.string() }),
  z.object({ type: z.literal("logEventsAck"), batchId: z.string(), error: z.string().optional() }),
  /** The answer to `secretsRequest`: the values, or why they cannot be had (ECS's wording). */
  z.object({
    type: z.literal("secrets"),
    requestId: z.string(),
    containers: z.array(ContainerSecrets).optional(),
    error: z.string().optional(),
  }),
  /** Runs `command` in a running container of a task (`berth exec`); with `tty`, on a terminal. */
  z.object({
    type: z.literal("exec"),
    requestId: z.string(),
    taskArn: z.string(),
    container: z.string(),
    command: z.array(z.string()).min(1),
    tty: z.boolean(),
    cols: z.number().int().min(1).max(1000).optional(),
    rows: z.number().int().min(1).max(1000).optional(),
  }),
  /** Input for an `exec` session (base64); `eof` closes its stdin. */
  z.object({
    type: z.literal("execInput"),
    requestId: z.string(),
    data: z.string(),
    eof: z.boolean().optional(),
  }),
  /** A new terminal size for an `exec` session on a terminal (`kubectl exec -t` resizes). */
  z.object({
    type: z.literal("execResize"),
    requestId: z.string(),
    cols: z.number().int().min(1).max(1000),
    rows: z.number().int().min(1).max(1000),
  }),
  /**
   * A task role's temporary credentials (an STS session of the role), answering a
   * `credentialsRequest`; `error` when the server would not mint them. Never persisted.
   */
  z.object({
    type: z.literal("credentials"),
    requestId: z.string(),
    credentials: TaskRoleCredentials.optional(),
    error: z.string().optional(),
  }),
  /** Ends an `exec` session: its process is killed. */
  z.object({ type: z.literal("execCancel"), requestId: z.string() }),
]);
export type ServerMessage = z.infer<typeof ServerMessage>;

/** Parses one frame; undefined when it is not a valid message (the caller logs and drops it). */
function parseFrame<T>(schema: z.ZodType<T>, data: string): T | undefined {
  try {
    const result = schema.safeParse(JSON.parse(data));
    return result.success ? result.data : undefined;
  } catch {
    return undefined;
  }
}

export const parseAgentMessage = (data: string): AgentMessage | undefined =>
  parseFrame(AgentMessage, data);

export const parseServerMessage = (data: string): ServerMessage | undefined =>
  parseFrame(ServerMessage, data);
