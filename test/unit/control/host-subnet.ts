/** One host's subnet of a cluster's block, as placement takes it for a batch of hosts. */
import type { Transaction } from "kysely";
import {
  clusterSubnets,
  cutHostSubnets,
  TaskSubnetsExhausted,
  type TaskAddressSpace,
} from "../../../src/control/task-subnets.js";
import type { Database } from "../../../src/store/index.js";

/** `hostId`'s subnet of `clusterArn`'s block, allocated (and the block) if it has none yet. */
export async function hostSubnetFor(
  trx: Transaction<Database>,
  space: TaskAddressSpace,
  clusterArn: string,
  hostId: string,
  now: number,
): Promise<string> {
  const known = await clusterSubnets(trx, clusterArn);
  const held = known.held.get(hostId);
  if (held !== undefined) return held;
  const { cut, full } = await cutHostSubnets(trx, space, clusterArn, [hostId], now, known);
  const subnet = cut.get(hostId);
  if (subnet === undefined) throw new TaskSubnetsExhausted(full ?? "no subnet left");
  return subnet;
}
