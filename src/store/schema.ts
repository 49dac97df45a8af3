/**
 * The tables Berth keeps, as Kysely sees them. JSON columns hold AWS-shaped documents whose
 * shape the services own; the columns beside them are what queries filter and sort on.
 */
import type { ColumnType, Generated } from "kysely";

export interface ClusterTable {
  name: string;
  arn: string;
  /** ACTIVE or INACTIVE (deleted clusters stay describable, as in ECS). */
  status: string;
  /** settings, configuration, capacityProviders, defaultCapacityProviderStrategy, ... */
  document: string;
  created_at: number;
  updated_at: number;
}

export interface TaskDefinitionTable {
  family: string;
  revision: number;
  arn: string;
  /** ACTIVE, INACTIVE or DELETE_IN_PROGRESS. */
  status: string;
  /** The TaskDefinition as DescribeTaskDefinition returns it, less status and timestamps. */
  document: string;
  registered_at: number;
  deregistered_at: number | null;
}

export interface TagTable {
  resource_arn: string;
  key: string;
  value: string;
}

export interface IdempotencyTable {
  scope: string;
  token: string;
  request_hash: string;
  response: string;
  created_at: number;
}

/** An ECR repository (registry issue). Deleted repositories are removed, not kept. */
export interface RegistryRepositoryTable {
  name: string;
  arn: string;
  created_at: number;
  /** MUTABLE or IMMUTABLE. */
  tag_mutability: string;
  /** imageScanningConfiguration and encryptionConfiguration as CreateRepository took them. */
  document: string;
  lifecycle_policy: string | null;
  lifecycle_evaluated_at: number | null;
  /** The policy text of the last StartLifecyclePolicyPreview. */
  lifecycle_preview: string | null;
}

/** A manifest stored in a repository; its bytes live in the blob store under `digest`. */
export interface RegistryManifestTable {
  repository: string;
  digest: string;
  media_type: string;
  artifact_type: string | null;
  /** Length of the manifest document. */
  size: number;
  /** What ECR reports as imageSizeInBytes: config and layers (max over children for an index). */
  image_size: number;
  /** The `subject` digest, for the referrers API. */
  subject: string | null;
  /** JSON of the manifest's annotations, for referrers descriptors. */
  annotations: string | null;
  pushed_at: number;
  last_pulled_at: number | null;
}

export interface RegistryTagTable {
  repository: string;
  tag: string;
  digest: string;
  updated_at: number;
}

/** What each manifest references (blobs and child manifests): GC's roots and index safety. */
export interface RegistryManifestRefTable {
  repository: string;
  manifest: string;
  child: string;
}

/** A blob made visible in a repository by an upload or a mount. */
export interface RegistryBlobLinkTable {
  repository: string;
  digest: string;
  size: number;
  linked_at: number;
}

/** A compute host (an agent) and its capacity. */
export interface HostTable {
  id: string;
  availability_zone: string;
  /** CPU units and MiB the host offers to tasks. */
  cpu: number;
  memory: number;
  /** ACTIVE while its agent heartbeats; LOST after the timeout. */
  status: string;
  /** JSON list of the capacity providers it offers: FARGATE (on-demand), FARGATE_SPOT. */
  capacity_providers: string;
  registered_at: number;
  /** GiB of disk the host offers to task storage (agent-measured); null: not reported. */
  task_storage_gib: number | null;
  /** Its address on the datacenter link, as the server saw its channel come (none: loopback). */
  address: string | null;
  /** CPU units and MiB of its tasks that have not STOPPED (placement's booking). */
  reserved_cpu: Generated<number>;
  reserved_memory: Generated<number>;
  /** GiB of ephemeral storage of those tasks. */
  reserved_storage_gib: Generated<number>;
}

/** What a host's channel last said (kept off `hosts`, which placement claims room on). */
export interface HostLivenessTable {
  host_id: string;
  last_seen_at: number;
  /** The highest report sequence number applied from this host (exactly-once in effect). */
  last_seq: number;
}

/** Join tokens (`berth tokens`): an agent shows one to join; only the secret's SHA-256 is kept. */
export interface JoinTokenTable {
  /** The public half of the token (`<id>.<secret>`), what list and revoke name. */
  id: string;
  secret_hash: string;
  description: string | null;
  created_at: number;
  /** Null: never expires. */
  expires_at: number | null;
  /** Null: any number of joins. */
  usage_limit: number | null;
  uses: Generated<number>;
  revoked_at: number | null;
}

/** The credential each joined host reconnects with (its secret's SHA-256). */
export interface HostCredentialTable {
  host_id: string;
  secret_hash: string;
  /** The join token's id it joined with; null for the local host of `berth up`. */
  joined_with: string | null;
  created_at: number;
}

/** The web console's sessions: the cookie's SHA-256, whose key signed in, and until when. */
export interface ConsoleSessionTable {
  token_hash: string;
  access_key_id: string;
  /** Sent back on every state-changing request (X-Berth-Csrf), besides the cookie. */
  csrf_token: string;
  created_at: number;
  expires_at: number;
}

/** One metric period's datapoint of a service (`service:cluster/name`) or task (`task:arn`). */
export interface MetricDatapointTable {
  series_key: string;
  /** The end of the period, epoch ms. */
  at: number;
  period_ms: number;
  /** Percent of the reservation used over the period. */
  cpu: number | null;
  memory: number | null;
  /** Requests the service's target groups received over the period. */
  requests: number | null;
  /** A service's task counts at the period's end. */
  running: number | null;
  pending: number | null;
  desired: number | null;
  /** TargetResponseTime over the period, seconds: Average, p90, p99 (migration 0031). */
  response_time: number | null;
  response_time_p90: number | null;
  response_time_p99: number | null;
}

/** The console stream's coalesced changes, for the other servers of the store. */
export interface ConsoleChangeTable {
  id: Generated<number>;
  server_id: string;
  at: number;
  payload: string;
}

/** A one-time console sign-in link: its token's SHA-256; redeeming deletes the row. */
export interface ConsoleLinkTable {
  token_hash: string;
  access_key_id: string;
  expires_at: number;
}

/** ECS tasks: desired state (desired_status) and actual state (last_status) side by side. */
export interface TaskTable {
  arn: string;
  id: string;
  cluster_name: string;
  family: string;
  task_definition_arn: string;
  last_status: string;
  desired_status: string;
  /** The host it is placed on; its cpu and memory are reserved there until STOPPED. */
  host_id: string | null;
  cpu: number;
  memory: number;
  /**
   * Its ephemeral storage, GiB, reserved on its host with cpu and memory. Optional on insert:
   * the column's default is Fargate's 20.
   */
  ephemeral_storage_gib?: number;
  started_by: string | null;
  group_name: string;
  created_at: number;
  stopped_at: number | null;
  /** Bumped on every change, as ECS's Task.version. */
  version: number;
  /** The ECS Task as DescribeTasks returns it, less what the columns hold. */
  document: string;
  /** The protocol's TaskAssignment: what the agent needs to run it (JSON). */
  assignment: string;
}

/** One billed task, written once when it stopped (billing). Times in ms since the epoch. */
export interface TaskUsageTable {
  task_arn: string;
  cluster_arn: string;
  /** "service:NAME" or "family:NAME", as ECS's task group. */
  group_name: string | null;
  task_definition_arn: string;
  family: string;
  /** JSON object of the task's tags. */
  tags: string;
  cpu: number;
  memory_mib: number;
  ephemeral_storage_gib: number;
  /** X86_64 or ARM64. */
  cpu_architecture: string;
  /** FARGATE or FARGATE_SPOT. */
  capacity_provider: string;
  pull_started_at: number;
  stopped_at: number;
  /** Fargate's billed seconds: rounded up, at least 60. */
  billed_seconds: number;
  /** pull_started_at + billed_seconds * 1000. */
  billed_until: number;
  recorded_at: number;
}

/** ECS services: desired state (count, task definition, deployments) and their event log. */
export interface ServiceTable {
  arn: string;
  cluster_name: string;
  name: string;
  /** ACTIVE, DRAINING or INACTIVE. */
  status: string;
  desired_count: number;
  /** The ECS Service less what is computed on read (running and pending counts). */
  document: string;
  created_at: number;
  updated_at: number;
}

/** A CloudWatch Logs log group (services/logs). Times in ms since the epoch. */
export interface LogGroupTable {
  id: Generated<number>;
  name: string;
  created_at: number;
  /** PutRetentionPolicy's days; null keeps events forever. */
  retention_days: number | null;
  kms_key_id: string | null;
  /** UTF-8 bytes of the messages it holds. */
  stored_bytes: number;
  /** JSON object of the tags CreateLogGroup was given. */
  tags: string;
}

/** A log stream of a log group. */
export interface LogStreamTable {
  id: Generated<number>;
  group_id: number;
  name: string;
  created_at: number;
  first_event_at: number | null;
  last_event_at: number | null;
  last_ingestion_at: number | null;
  /** The highest caller offset `appendLogEvents` applied (exactly-once for shipped lines). */
  append_offset: number | null;
}

/** One log event; `seq` is the ingestion order, the tie-break between equal timestamps. */
export interface LogEventTable {
  seq: Generated<number>;
  group_id: number;
  stream_id: number;
  timestamp: number;
  ingested_at: number;
  message: string;
}

/** An ELBv2 load balancer; `document` is the LoadBalancer as DescribeLoadBalancers shows it. */
export interface ElbLoadBalancerTable {
  arn: string;
  name: string;
  document: string;
  created_at: number;
  /** Attributes set with ModifyLoadBalancerAttributes (key -> value JSON); null: the defaults. */
  attributes: string | null;
}

/** An ELBv2 target group: the TargetGroup document and its attributes (key -> value). */
export interface ElbTargetGroupTable {
  arn: string;
  name: string;
  document: string;
  attributes: string;
  created_at: number;
}

/** A listener: the Listener document (DefaultActions included). */
export interface ElbListenerTable {
  arn: string;
  load_balancer_arn: string;
  port: number;
  document: string;
  created_at: number;
}

/** A listener rule; the default rule has priority DEFAULT_RULE_PRIORITY (shown as "default"). */
export interface ElbRuleTable {
  arn: string;
  listener_arn: string;
  priority: number;
  document: string;
}

/** A registered target; `draining_until` is set while it drains after deregistration. */
export interface ElbTargetTable {
  target_group_arn: string;
  id: string;
  port: number;
  availability_zone: string | null;
  /** The ECS task that registered it (services behind a load balancer), if any. */
  task_arn: string | null;
  registered_at: number;
  draining_until: number | null;
}

/** Application Auto Scaling: one row per scalable target, policy, scheduled action, activity. */
interface ScalableResourceColumns {
  namespace: string;
  resource_id: string;
  dimension: string;
}

export interface ScalableTargetTable extends ScalableResourceColumns {
  arn: string;
  /** The ScalableTarget as DescribeScalableTargets returns it, and the autoscaler's cooldowns. */
  document: string;
  created_at: number;
}

export interface ScalingPolicyTable extends ScalableResourceColumns {
  arn: string;
  name: string;
  /** The ScalingPolicy as DescribeScalingPolicies returns it. */
  document: string;
  created_at: number;
}

export interface ScheduledActionTable extends ScalableResourceColumns {
  arn: string;
  name: string;
  /** The ScheduledAction as DescribeScheduledActions returns it. */
  document: string;
  created_at: number;
  /** When the action last fired; null (left out on insert) until it has. */
  last_run_at: ColumnType<number | null, number | undefined, number>;
}

export interface ScalingActivityTable extends ScalableResourceColumns {
  id: string;
  /** The ScalingActivity as DescribeScalingActivities returns it. */
  document: string;
  started_at: number;
}

/** ECS task scale-in protection (UpdateTaskProtection): protected until `expires_at` (ms). */
export interface TaskProtectionTable {
  task_arn: string;
  expires_at: number;
}

/** An EKS cluster (services/eks): its AWS document and the last Kubernetes resourceVersion. */
export interface EksClusterTable {
  name: string;
  arn: string;
  /** CREATING, ACTIVE, DELETING. */
  status: string;
  /** The EKS Cluster less what is computed on read (endpoint, CA, status). */
  document: string;
  resource_version: number;
  created_at: number;
}

/** An EKS Fargate profile (services/eks); pods are matched against its selectors (src/kube). */
export interface EksFargateProfileTable {
  cluster_name: string;
  name: string;
  arn: string;
  document: string;
  created_at: number;
}

/** One Kubernetes object of an EKS cluster (src/kube), as the API serves it. */
export interface KubeObjectTable {
  cluster_name: string;
  /** Plural with group: `pods`, `deployments.apps`. */
  resource: string;
  /** "" for cluster-scoped objects (namespaces). */
  namespace: string;
  name: string;
  uid: string;
  resource_version: number;
  document: string;
}

/** ECS account settings a principal set (names and values as ECS spells them). */
export interface EcsAccountSettingTable {
  principal_arn: string;
  name: string;
  value: string;
}

/** Berth's CA (one row, id "berth"), shared by the servers of one store (server/shared-ca). */
export interface CertificateAuthorityTable {
  id: string;
  certificate: string;
  private_key: string;
}

/** A task's (or container's) usage sample as one server received it (control/metrics/usage-share). */
export interface UsageSampleTable {
  id: Generated<number>;
  server_id: string;
  /** A task ARN, or a container's `arn#name` (containerSeriesKey). */
  series_key: string;
  /** Milliseconds, the receiving server's clock. */
  at: number;
  cpu_nanos: number;
  memory_bytes: number;
}

/** A server sharing the store (server/peers), as it last said it was. */
export interface ServerTable {
  id: string;
  endpoint: string;
  /** host:port of its registry, as image URIs name it. */
  registry_host: string;
  /** Milliseconds, this server's clock. */
  seen_at: number;
}

/** A singleton role's leader (control/leases): who holds it, until when, the how-manieth. */
export interface LeaseTable {
  role: string;
  holder: string;
  epoch: number;
  /** Milliseconds on the database's clock. */
  expires_at: number;
}

/** A cluster's block of the task CIDR (migration 0017); its VNI derives from it. */
export interface ClusterBlockTable {
  cluster_arn: string;
  block: string;
  created_at: number;
}

/** A host's subnet of a cluster's block, from its first task of the cluster on. */
export interface HostSubnetTable {
  cluster_arn: string;
  host_id: string;
  subnet: string;
  created_at: number;
}

/** An IAM user (migration 0019-iam). */
export interface IamUserTable {
  name: string;
  /** AIDA...: GetCallerIdentity's UserId. */
  id: string;
  arn: string;
  path: string;
  created_at: number;
}

export interface IamAccessKeyTable {
  access_key_id: string;
  user_name: string;
  secret: string;
  /** Active or Inactive. */
  status: string;
  created_at: number;
}

export interface IamRoleTable {
  name: string;
  /** AROA... */
  id: string;
  arn: string;
  path: string;
  trust_policy: string;
  description: string | null;
  max_session_duration: number;
  created_at: number;
}

/** A customer managed policy (one version, v1). */
export interface IamPolicyTable {
  arn: string;
  name: string;
  id: string;
  path: string;
  document: string;
  description: string | null;
  created_at: number;
}

export interface IamInlinePolicyTable {
  /** `user` or `role`. */
  principal_kind: string;
  principal_name: string;
  policy_name: string;
  document: string;
}

export interface IamAttachedPolicyTable {
  principal_kind: string;
  principal_name: string;
  policy_arn: string;
}

/** Temporary credentials of a role session (STS AssumeRole, task roles). */
export interface StsSessionTable {
  access_key_id: string;
  secret: string;
  session_token: string;
  role_name: string;
  session_name: string;
  expires_at: number;
}

/** An EventBridge Scheduler schedule group (migration 0025); `default` is made at start. */
export interface ScheduleGroupTable {
  name: string;
  arn: string;
  created_at: number;
  updated_at: number;
}

/** An EventBridge Scheduler schedule and its runner's state (migration 0025). */
export interface ScheduleTable {
  group_name: string;
  name: string;
  arn: string;
  /** ENABLED or DISABLED. */
  state: string;
  /** The schedule as GetSchedule answers it, less names, state and dates (JSON). */
  document: string;
  /** Counts updates: part of each run's RunTask clientToken. */
  version: number;
  created_at: number;
  updated_at: number;
  /** The fire time owed next, ms on the schedule clock; null when none is left. */
  next_fire_at: number | null;
  /** When to try it: the flexible window's offset, or a retry's back-off. */
  due_at: number | null;
  /** Failed attempts at `next_fire_at` so far. */
  attempt: number;
  last_fire_at: number | null;
}

/** A Secrets Manager secret (migration 0018-secrets). */
export interface SmSecretTable {
  arn: string;
  name: string;
  description: string | null;
  kms_key_id: string | null;
  created_at: number;
  changed_at: number;
  accessed_at: number | null;
  deleted_at: number | null;
  delete_after: number | null;
}

export interface SmSecretVersionTable {
  secret_arn: string;
  version_id: string;
  /** JSON array of staging labels. */
  stages: string;
  /** `string` or `binary`. */
  kind: string;
  /** The value, sealed (core/sealed-values.ts). */
  sealed: string;
  created_at: number;
  accessed_at: number | null;
}

/** A Parameter Store parameter: its current version; every version is in the next table. */
export interface SsmParameterTable {
  name: string;
  arn: string;
  version: number;
}

export interface SsmParameterVersionTable {
  name: string;
  version: number;
  /** String, StringList or SecureString. */
  type: string;
  sealed: string;
  description: string | null;
  allowed_pattern: string | null;
  key_id: string | null;
  tier: string;
  data_type: string;
  /** JSON array of labels. */
  labels: string;
  modified_at: number;
  modified_by: string;
}

export interface Database {
  sm_secrets: SmSecretTable;
  sm_secret_versions: SmSecretVersionTable;
  ssm_parameters: SsmParameterTable;
  ssm_parameter_versions: SsmParameterVersionTable;
  iam_users: IamUserTable;
  iam_access_keys: IamAccessKeyTable;
  iam_roles: IamRoleTable;
  iam_policies: IamPolicyTable;
  iam_inline_policies: IamInlinePolicyTable;
  iam_attached_policies: IamAttachedPolicyTable;
  sts_sessions: StsSessionTable;
  ecs_account_settings: EcsAccountSettingTable;
  clusters: ClusterTable;
  task_definitions: TaskDefinitionTable;
  tags: TagTable;
  idempotency: IdempotencyTable;
  registry_repositories: RegistryRepositoryTable;
  registry_manifests: RegistryManifestTable;
  registry_tags: RegistryTagTable;
  registry_manifest_refs: RegistryManifestRefTable;
  registry_blob_links: RegistryBlobLinkTable;
  hosts: HostTable;
  host_liveness: HostLivenessTable;
  join_tokens: JoinTokenTable;
  host_credentials: HostCredentialTable;
  tasks: TaskTable;
  services: ServiceTable;
  task_usage: TaskUsageTable;
  log_groups: LogGroupTable;
  log_streams: LogStreamTable;
  log_events: LogEventTable;
  elb_load_balancers: ElbLoadBalancerTable;
  elb_target_groups: ElbTargetGroupTable;
  elb_listeners: ElbListenerTable;
  elb_rules: ElbRuleTable;
  elb_targets: ElbTargetTable;
  usage_samples: UsageSampleTable;
  scalable_targets: ScalableTargetTable;
  scaling_policies: ScalingPolicyTable;
  scheduled_actions: ScheduledActionTable;
  scaling_activities: ScalingActivityTable;
  task_protection: TaskProtectionTable;
  eks_clusters: EksClusterTable;
  eks_fargate_profiles: EksFargateProfileTable;
  kube_objects: KubeObjectTable;
  leases: LeaseTable;
  servers: ServerTable;
  certificate_authority: CertificateAuthorityTable;
  console_sessions: ConsoleSessionTable;
  console_links: ConsoleLinkTable;
  console_changes: ConsoleChangeTable;
  metric_datapoints: MetricDatapointTable;
  cluster_blocks: ClusterBlockTable;
  host_subnets: HostSubnetTable;
  schedule_groups: ScheduleGroupTable;
  schedules: ScheduleTable;
}
