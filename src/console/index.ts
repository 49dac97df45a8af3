/** The web console: its routes under /console, sessions, and the live change stream. */
export { ConsoleRoutes, type ConsoleAuthorizer } from "./routes.js";
export { ConsoleSessions, LINK_TTL_MS, SESSION_TTL_MS } from "./sessions.js";
export { ConsoleChanges, type ConsoleChange } from "./events.js";
export { ConsoleChangeRelay } from "./change-relay.js";
export type { OpenTaskLogs } from "./log-stream.js";
export { parseTaskFilter, taskPage } from "./task-table.js";
export { HISTORY_MS, MetricsHistory, retentionMs, type MetricsPeriod } from "./metrics-history.js";
