/**
 * Desired state -> actual state: task records, placement on hosts, the agents' channel and
 * join tokens, the service reconciler, the tasks' metrics and the autoscaler.
 */
export {
  AgentChannelServer,
  type ExecRequest,
  type ExecSession,
  type ExecSink,
  type LogSink,
} from "./channel.js";
export { heartbeatEveryFor, writeEveryFor } from "./heartbeats.js";
export { AssignmentRelay, type RelayChannel } from "./assignment-relay.js";
export {
  chooseHost,
  chooseHosts,
  groupLoad,
  hostRoom,
  type HostRoom,
  type PlacementFailure,
} from "./placement.js";
export { applyTaskState, readTask, type Placed, type TaskDraft } from "./tasks.js";
export {
  createJoinToken,
  JoinRefused,
  listJoinTokens,
  revokeJoinToken,
  type JoinTokenInfo,
  type JoinTokenSpec,
} from "./tokens.js";
export { authenticateHost, enrollLocalHost } from "./host-credentials.js";
export { applyNetworkState, precreatedAttachment } from "./task-attachments.js";
export { taskBillingFacts, tasksPulledBefore } from "./task-billing.js";
export { taskRoleCredentials, TASK_CREDENTIALS_REFUSED } from "./task-credentials.js";
export { markLostHosts, planLostHosts, type HostHeard } from "./hosts.js";
export { ClusterNetworks } from "./cluster-networks.js";
export {
  clusterBlocks,
  defaultAddressSpace,
  DEFAULT_TASK_CIDR,
  hostSubnets,
  nextFree,
  releaseClusterBlock,
  releaseHostSubnets,
  vniOf,
  type TaskAddressSpace,
} from "./task-subnets.js";
export { Lease, LeaseLost, leadRoles, type Fence, type LeaderRole } from "./leases.js";
export { ServiceReconciler, type ServiceLauncher } from "./services.js";
export { newDeploymentId, readService, writeService, type StoredService } from "./service-state.js";
export {
  DEFAULT_PROTECTION_MINUTES,
  setTaskProtection,
  taskProtection,
} from "./task-protection.js";
export {
  type RegisteredTarget,
  type ServiceTargets,
  type TaskTargetHealth,
} from "./service-targets.js";
export { TaskCommands, type TaskDispatcher } from "./task-commands.js";
export { SpotInterrupter } from "./spot.js";
export {
  ServiceMetrics,
  UsageSeries,
  UsageShare,
  containerSeriesKey,
  type MetricsSnapshot,
  type RequestCountSource,
  responseTimeStats,
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
  decideScaling,
  latestFiring,
  observe,
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
  resourceColumns,
  saveTarget,
  type ScalableResource,
  type StoredTarget,
} from "./autoscaling/index.js";
