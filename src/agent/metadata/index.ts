/** The task metadata endpoint (v4, v3) the agent serves to its tasks. */
export { apiProxyPort, metadataPort } from "./port.js";
export { TaskRoleCredentialCache, CredentialsRefused } from "./credentials.js";
export type { ApiTarget } from "./api-proxy.js";
export { metadataConnectionLimits, TaskMetadataServer } from "./server.js";
export { containerDocument, taskDocument, type TaskFacts } from "./documents.js";
export { parseNetDev, StatsReader } from "./stats.js";
