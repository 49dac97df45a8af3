/**
 * How hosts hear of their tasks (TaskCommands' TaskDispatcher): an assignment goes out with its
 * own-registry images pinned to their digests (image-pins.ts) through the AssignmentRelay (straight
 * to the host's channel here, or through the store to the server it is connected to), and a
 * first task of a cluster on a host makes the cluster networks tell its peers. Stops queue
 * behind assignments, so a host never hears of a task's stop before its assignment.
 */
import type {
  AssignmentRelay,
  ClusterNetworks,
  TaskAddressSpace,
  TaskDispatcher,
} from "../control/index.js";
import type { Logger } from "../core/index.js";
import type { TaskAssignment } from "../protocol/index.js";
import type { Registry } from "../registry/index.js";
import { pinImages } from "./image-pins.js";

export interface HostDispatcherOptions {
  relay: AssignmentRelay;
  registry: Pick<Registry, "resolve">;
  /** The names Berth's own registry answers to (every server's), known once listening. */
  registryHosts: () => string[];
  clusterNetworks: Pick<ClusterNetworks, "kickSoon">;
  addresses: TaskAddressSpace;
  log: Logger;
  /** How many hosts' subnets it remembers being told of (REMEMBERED_SUBNETS; fewer in tests). */
  rememberedSubnets?: number;
}

/**
 * The most (cluster, host, subnet) triples remembered: a server that runs for months sees
 * clusters and hosts come and go, and the set must not grow with them. Once full it starts again
 * empty; a subnet forgotten costs one more kick (passes asked for soon after another are one).
 */
const REMEMBERED_SUBNETS = 50_000;

export class HostDispatcher implements TaskDispatcher {
  readonly addresses: TaskAddressSpace;
  #queue: Promise<unknown> = Promise.resolve();
  /** Each cluster's subnet on each host that tasks were placed in here. */
  readonly #subnets = new Set<string>();

  constructor(private readonly options: HostDispatcherOptions) {
    this.addresses = options.addresses;
  }

  assign(hostId: string, assignment: TaskAssignment): void {
    const { registry, registryHosts, relay, clusterNetworks, log } = this.options;
    const pinned = pinImages(assignment, registry, registryHosts(), log);
    this.#inTurn(async () => relay.deliver(hostId, { type: "assign", task: await pinned }));
    // A first task of a cluster on a host gave it a subnet: its peers hear of it soon. Only
    // then: a pass reads every host's subnets (bench:placement's CPU profile had passes kicked
    // by every placement, back to back, at a tenth of the server). One this server has not
    // seen placed is told of; the timed pass (every 2 s) covers the rest.
    const subnet = `${assignment.clusterArn} ${hostId} ${assignment.subnet ?? ""}`;
    if (this.#subnets.has(subnet)) return;
    if (this.#subnets.size >= (this.options.rememberedSubnets ?? REMEMBERED_SUBNETS))
      this.#subnets.clear();
    this.#subnets.add(subnet);
    clusterNetworks.kickSoon();
  }

  stop(hostId: string, taskArn: string, stopCode: string, stoppedReason: string): void {
    this.#inTurn(() =>
      this.options.relay.deliver(hostId, { type: "stop", taskArn, stopCode, stoppedReason }),
    );
  }

  #inTurn(send: () => Promise<void> | void): void {
    this.#queue = this.#queue
      .then(send)
      .catch((error: unknown) =>
        this.options.log.warn("dispatching to a host failed", { error: String(error) }),
      );
  }
}
