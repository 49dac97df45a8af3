/** The tasks' measured use and CloudWatch's ECS metrics computed from it, one period at a time. */
export { UsageSeries, containerSeriesKey, type TaskUse, type UsageSample } from "./usage-series.js";
export {
  ServiceMetrics,
  serviceKey,
  type MetricsSnapshot,
  type RequestCountSource,
  type ServiceDatapoint,
  type TargetGroupDatapoint,
  type TaskDatapoint,
} from "./service-metrics.js";
