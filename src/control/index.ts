/**
 * Desired state -> actual state: task records, placement on hosts, the agents' channel and
 * join tokens. Reconcilers for services and autoscaling join here later.
 */
export {
  AgentChannelServer,
  type AgentChannelOptions,
  type ExecRequest,
  type ExecSession,
  type ExecSink,
  type LogSink,
} from "./channel.js";
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
export { createJoinToken, isJoinTokenValid } from "./tokens.js";
export { applyNetworkState, precreatedAttachment, ENI_ATTACHMENT } from "./task-attachments.js";
export { taskBillingFacts, tasksPulledBefore, type TaskBillingFacts } from "./task-billing.js";
export { markLostHosts, type LostHost } from "./hosts.js";
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
export { SpotInterrupter, SPOT_REASON, SPOT_STOP_CODE, type SpotOptions } from "./spot.js";
