/** The tasks' measured use and CloudWatch's ECS metrics computed from it, one period at a time. */
export { UsageSeries, containerSeriesKey, type UsageSample } from "./usage-series.js";
export { UsageShare } from "./usage-share.js";
export {
  ServiceMetrics,
  type MetricsSnapshot,
  type RequestCountSource,
  type ServiceDatapoint,
} from "./service-metrics.js";
export {
  responseTimeStats,
  type ResponseTimeStats,
  type ResponseTimeTotals,
} from "./response-times.js";
