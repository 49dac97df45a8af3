/** The web console: its routes under /console, sessions, and the live change stream. */
export { ConsoleRoutes, type ConsoleAuthorizer, type ConsoleOptions } from "./routes.js";
export { ConsoleSessions, SESSION_TTL_MS, type Session } from "./sessions.js";
export { ConsoleChanges, type ConsoleChange } from "./events.js";
export { CONSOLE_PATH, SECURITY_HEADERS, SESSION_COOKIE } from "./http-basics.js";
export type { OpenTaskLogs, ConsoleLogLine } from "./log-stream.js";
export { parseTaskFilter, taskPage, type TaskFilter, type TaskRow } from "./task-table.js";
export {
  HISTORY_MS,
  MetricsHistory,
  type MetricsPeriod,
  type MetricsPoint,
} from "./metrics-history.js";
