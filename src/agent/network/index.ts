/**
 * Task networking (awsvpc): each task's namespace gets its own address on its cluster's
 * bridge (bridge-network.ts). The contract is in types.ts.
 */
export type {
  HostNetworks,
  TaskAddress,
  TaskAttachment,
  TaskNetwork,
  TaskNetworkTarget,
} from "./types.js";
export { vtepAddress, vtepMac } from "./overlay.js";
export { BridgeTaskNetwork } from "./bridge-network.js";
export {
  checkTaskCidr,
  claimFreeNetwork,
  DEFAULT_TASK_CIDR,
  releaseClaimsOf,
  releaseSubnet,
} from "./subnets.js";
export { SubnetRoutes } from "./host-routes.js";
