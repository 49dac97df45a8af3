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
export { vtepAddress, vtepMac, vxlanName, VXLAN_OVERHEAD } from "./overlay.js";
export { CniTaskNetwork, DEFAULT_CNI_PATH, type CniTaskNetworkOptions } from "./cni-network.js";
export { CniError, CniPlugins, type CniConflist, type CniResult } from "./cni.js";
export { buildConflist, CNI_VERSION, type ClusterNetworkSpec } from "./conflist.js";
export { checkTaskCidr, claimFreeNetwork, DEFAULT_TASK_CIDR, releaseSubnet } from "./subnets.js";
export { SubnetRoutes, type SubnetRoute } from "./host-routes.js";
