/** The task metadata endpoint (v4, v3) the agent serves to its tasks. */
export { metadataPort } from "./port.js";
export { TaskMetadataServer, type MetadataTaskSource } from "./server.js";
export { containerDocument, taskDocument, type TaskFacts } from "./documents.js";
export { parseNetDev, StatsReader } from "./stats.js";
