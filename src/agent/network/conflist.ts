/**
 * The CNI configuration list of one cluster's network on a host: a Linux bridge the host routes
 * for (its gateway address is the host's side) and host-local IPAM handing out the cluster's
 * subnet. NAT to the outside and the isolation between bridges are not the plugins' (`ipMasq`,
 * the firewall plugin: iptables rules per task) but the bridge's own, written once
 * (`cluster-firewall.ts`).
 *
 * No portmap: in awsvpc mode a container's ports are reached on the task's own address, and
 * Fargate has no host ports to map.
 */
import type { CniConflist } from "./cni.js";

export const CNI_VERSION = "1.0.0";

export interface ClusterNetworkSpec {
  /** The CNI network name; host-local keeps its allocations under `<ipamDir>/<name>`. */
  name: string;
  /** Linux interface name of the bridge (at most 15 characters). */
  bridge: string;
  /** The cluster's subnet in CIDR form; its first address is the bridge's (the gateway). */
  subnet: string;
  ipamDir: string;
  /** The bridge's and tasks' MTU (the overlay's); the kernel's default when absent. */
  mtu?: number;
}

export function buildConflist(spec: ClusterNetworkSpec): CniConflist {
  return {
    cniVersion: CNI_VERSION,
    name: spec.name,
    plugins: [
      {
        type: "bridge",
        bridge: spec.bridge,
        isGateway: true,
        ipMasq: false,
        // A task reaches its own address through the bridge (what a load balancer target may do).
        hairpinMode: true,
        ...(spec.mtu === undefined ? {} : { mtu: spec.mtu }),
        ipam: {
          type: "host-local",
          ranges: [[{ subnet: spec.subnet }]],
          routes: [{ dst: "0.0.0.0/0" }],
          dataDir: spec.ipamDir,
        },
      },
    ],
  };
}
