/** Application Auto Scaling's engine: records, schedules, policies' arithmetic and the loop. */
export { Autoscaler, type AutoscalerOptions, type DesiredCountSetter } from "./autoscaler.js";
export { clamp, decideScaling, type Decision, type PolicyProposal } from "./decision.js";
export { checkTimezone, latestFiring, parseSchedule, ScheduleError } from "./schedule.js";
export type { Schedule } from "./schedule.js";
export { stepScalingCapacity } from "./step-scaling.js";
export {
  HIGH_DATAPOINTS,
  LOW_DATAPOINTS,
  LOW_THRESHOLD_RATIO,
  observe,
  targetTrackingProposal,
  type AlarmCounts,
  type Proposal,
} from "./target-tracking.js";
export {
  ECS_DESIRED_COUNT,
  ECS_NAMESPACE,
  findTarget,
  parseServiceResourceId,
  readActivity,
  readPolicy,
  readScheduledAction,
  readTarget,
  recordActivity,
  resourceColumns,
  saveTarget,
  type ScalableResource,
  type StoredTarget,
  type TargetExtras,
} from "./state.js";
