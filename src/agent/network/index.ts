/**
 * Task networking (awsvpc): each task's namespace gets its own address on its cluster's
 * bridge, set up by the standard CNI plugins. The contract is in types.ts.
 */
export type {
  HostNetworks,
  TaskAddress,
  TaskAttachment,
  TaskNetwork,
  TaskNetworkTarget,
} from "./types.js";
export { vtepAddress, vtepMac } from "./overlay.js";
export { CniTaskNetwork } from "./cni-network.js";
export { CniError, CniPlugins, type CniConflist, type CniResult } from "./cni.js";
export { buildConflist } from "./conflist.js";
export { checkTaskCidr, claimFreeNetwork, DEFAULT_TASK_CIDR, releaseSubnet } from "./subnets.js";
export { SubnetRoutes } from "./host-routes.js";
