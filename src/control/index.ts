/**
 * Desired state -> actual state: task records, placement on hosts, the agents' channel and
 * join tokens, the service reconciler, the tasks' metrics and the autoscaler.
 */
export {
  AgentChannelServer,
  type AgentChannelOptions,
  type ExecRequest,
  type ExecSession,
  type ExecSink,
  type LogSink,
} from "./channel.js";
export { writeEveryFor } from "./heartbeats.js";
export {
  AssignmentRelay,
  type AssignmentRelayOptions,
  type RelayChannel,
} from "./assignment-relay.js";
export {
  chooseHost,
  groupLoad,
  hostRoom,
  type GroupLoad,
  type HostRoom,
  type PlacementFailure,
} from "./placement.js";
export {
  applyTaskState,
  assignmentsForHost,
  createTasks,
  readTask,
  requestStop,
  type Placed,
  type StopRequest,
  type TaskDraft,
} from "./tasks.js";
export {
  createJoinToken,
  JoinRefused,
  listJoinTokens,
  revokeJoinToken,
  type JoinTokenInfo,
  type JoinTokenSpec,
  type JoinTokenStatus,
} from "./tokens.js";
export { authenticateHost, enrollLocalHost, type HostClaim } from "./host-credentials.js";
export { applyNetworkState, precreatedAttachment, ENI_ATTACHMENT } from "./task-attachments.js";
export { taskBillingFacts, tasksPulledBefore, type TaskBillingFacts } from "./task-billing.js";
export {
  taskRoleCredentials,
  TASK_CREDENTIALS_REFUSED,
  type RoleCredentialMinter,
} from "./task-credentials.js";
export {
  markLostHosts,
  planLostHosts,
  type HostHeard,
  type LivenessPass,
  type LostHost,
} from "./hosts.js";
export {
  ClusterNetworks,
  planNetworks,
  type ClusterNetworksOptions,
  type SubnetRoute,
} from "./cluster-networks.js";
export {
  clusterBlocks,
  defaultAddressSpace,
  DEFAULT_TASK_CIDR,
  hostSubnetFor,
  hostSubnets,
  nextFree,
  releaseClusterBlock,
  releaseHostSubnets,
  vniOf,
  type TaskAddressSpace,
} from "./task-subnets.js";
export {
  Lease,
  LeaseLost,
  leadRoles,
  type Fence,
  type LeaderRole,
  type LeaseOptions,
} from "./leases.js";
export {
  ServiceReconciler,
  failureThreshold,
  type ReconcilerOptions,
  type ServiceLauncher,
} from "./services.js";
export {
  addEvent,
  newDeploymentId,
  readService,
  writeService,
  type ServiceExtras,
  type StoredService,
} from "./service-state.js";
export {
  DEFAULT_PROTECTION_MINUTES,
  protectedTaskArns,
  setTaskProtection,
  taskProtection,
} from "./task-protection.js";
export {
  drainTask,
  syncServiceTargets,
  taskAddress,
  type RegisteredTarget,
  type ServiceTargets,
  type TaskTargetHealth,
} from "./service-targets.js";
export {
  TaskCommands,
  type StartRequest,
  type TaskCommandsOptions,
  type TaskDispatcher,
} from "./task-commands.js";
export { SpotInterrupter, type SpotOptions } from "./spot.js";
export {
  ServiceMetrics,
  UsageSeries,
  UsageShare,
  containerSeriesKey,
  serviceKey,
  type MetricsSnapshot,
  type RequestCountSource,
  responseTimeStats,
  type ResponseTimeStats,
  type ResponseTimeTotals,
  type ServiceDatapoint,
  type TaskDatapoint,
  type UsageSample,
} from "./metrics/index.js";
export {
  Autoscaler,
  ECS_DESIRED_COUNT,
  ECS_NAMESPACE,
  HIGH_DATAPOINTS,
  LOW_DATAPOINTS,
  LOW_THRESHOLD_RATIO,
  ScheduleError,
  checkTimezone,
  clamp,
  decideScaling,
  latestFiring,
  observe,
  stepScalingCapacity,
  targetTrackingProposal,
  type AlarmCounts,
  type PolicyProposal,
  findTarget,
  parseSchedule,
  parseServiceResourceId,
  readActivity,
  readPolicy,
  readScheduledAction,
  readTarget,
  recordActivity,
  resourceColumns,
  saveTarget,
  type DesiredCountSetter,
  type ScalableResource,
  type StoredTarget,
} from "./autoscaling/index.js";
