/** The running platform: one HTTP listener in front of every role. */
export { startBerth, DEFAULT_PORT, type BerthOptions, type RunningBerth } from "./berth.js";
export type { JoinTokenInfo } from "../control/index.js";
export { resolveServerCredentials, readKeptCredentials } from "./credentials.js";
export { renderMetrics, METRICS_PATH } from "./metrics-route.js";
export { STDOUT_FRAME, TASK_EXEC_PATH } from "./exec-route.js";
