/**
 * The server's task address space on this machine: blocks come from `--task-cidr`, and a block
 * is claimed on this machine before a cluster gets it (no route here covers it and no other
 * Berth here holds it), so that Berths sharing a machine, as tests do, never hand out one block
 * twice. The claim is owned by the data dir and goes with it or with the cluster.
 */
import { resolve } from "node:path";
import { parseCidr } from "../core/index.js";
import type { TaskAddressSpace } from "../control/index.js";
import { claimFreeNetwork, releaseSubnet } from "../agent/index.js";

export function machineAddressSpace(pool: string, dataDir: string): TaskAddressSpace {
  const owner = resolve(dataDir);
  return {
    pool,
    claimBlock: async (block) => {
      const cidr = parseCidr(block);
      return cidr !== undefined && (await claimFreeNetwork([cidr], owner)) !== undefined;
    },
    releaseBlock: (block) => {
      const cidr = parseCidr(block);
      if (cidr !== undefined) releaseSubnet(cidr, owner);
    },
  };
}
