/**
 * The agent: everything that touches a compute host. Other components import only this file.
 */
export * from "./runtime/index.js";
export { startAgent, defaultCapacity, type AgentOptions, type RunningAgent } from "./agent.js";
export { hostCredential, type HostCredential } from "./identity.js";
export {
  requireTlsServer,
  ServerNotTrusted,
  trustServer,
  type ServerTrust,
} from "./server-trust.js";
export {
  checkHostCgroups,
  purgeHost,
  startHostAgent,
  startLocalAgent,
  type HostAgentOptions,
} from "./host.js";
export {
  buildBusyboxImage,
  BUSYBOX,
  ImageErrorCode,
  ImageStore,
  type ImageStoreOptions,
  type OciImage,
  type OciImageOptions,
} from "./images/index.js";
export type { ImagePuller, PulledImage, TaskHost } from "./tasks/ports.js";
export {
  checkTaskCidr,
  claimFreeNetwork,
  CniTaskNetwork,
  DEFAULT_TASK_CIDR,
  releaseSubnet,
  SubnetRoutes,
  type TaskAddress,
  type TaskNetwork,
} from "./network/index.js";
