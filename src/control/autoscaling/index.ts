/** Application Auto Scaling's engine: records, schedules, policies' arithmetic and the loop. */
export { Autoscaler } from "./autoscaler.js";
export { clamp, decideScaling, type PolicyProposal } from "./decision.js";
export { checkTimezone, latestFiring, parseSchedule, ScheduleError } from "./schedule.js";
export {
  HIGH_DATAPOINTS,
  LOW_DATAPOINTS,
  LOW_THRESHOLD_RATIO,
  observe,
  targetTrackingProposal,
  type AlarmCounts,
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
} from "./state.js";
