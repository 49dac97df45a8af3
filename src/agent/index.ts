/**
 * The agent: everything that touches a compute host. Other components import only this file.
 */
export * from "./runtime/index.js";
export { startAgent, type AgentOptions, type RunningAgent } from "./agent.js";
export { hostCredential } from "./identity.js";
export { requireTlsServer, ServerNotTrusted, trustServer } from "./server-trust.js";
export { checkHostCgroups, purgeHost, startHostAgent, startLocalAgent } from "./host.js";
export {
  buildBusyboxImage,
  BUSYBOX,
  ImageErrorCode,
  ImageStore,
  type OciImage,
  type OciImageOptions,
} from "./images/index.js";
export type { ImagePuller, PulledImage, TaskHost } from "./tasks/ports.js";
export {
  checkTaskCidr,
  claimFreeNetwork,
  BridgeTaskNetwork,
  DEFAULT_TASK_CIDR,
  releaseClaimsOf,
  releaseSubnet,
  SubnetRoutes,
  type TaskAddress,
  type TaskNetwork,
} from "./network/index.js";
