/**
 * Assembling a host's agent from its parts: the image store, the runtime (runc, and runsc for the tasks that ask; it borrows
 * root filesystems from the image store) and the agent itself. `berth agent` and the local
 * host of `berth up` both start here.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { silentLogger, type Logger } from "../core/index.js";
import { startAgent, type AgentOptions, type RunningAgent } from "./agent.js";
import { ImageStore } from "./images/index.js";
import { apiProxyPort, metadataPort } from "./metadata/index.js";
import { BridgeTaskNetwork } from "./network/index.js";
import {
  createHostRuntime,
  DEFAULT_CGROUP_PARENT,
  purgeNetns,
  purgeTaskStorage,
  TaskCgroups,
} from "./runtime/index.js";
import { overcommitFrom } from "./runtime/storage-budget.js";
import type { TaskHost } from "./tasks/ports.js";

export type HostAgentOptions = Omit<AgentOptions, "host"> & {
  /** The pool task subnets are cut from (`--task-cidr`); default 100.64.0.0/10. */
  taskCidr?: string;
};

function hostParts(
  dataDir: string,
  log: Logger,
  taskCidr?: string,
): TaskHost & { network: BridgeTaskNetwork; images: ImageStore } {
  const images = new ImageStore({ root: join(dataDir, "images"), log });
  const runtime = createHostRuntime({
    dataDir,
    rootfsProvider: images,
    logger: log,
    storageOvercommit: overcommitFrom(process.env.BERTH_STORAGE_OVERCOMMIT),
  });
  const network = new BridgeTaskNetwork({
    dataDir,
    log,
    // The metadata endpoint and the way to Berth's API are all a task may reach on the host.
    gatewayPorts: async () => [await metadataPort(dataDir), await apiProxyPort(dataDir)],
    linkLocalPort: () => metadataPort(dataDir),
    ...(taskCidr === undefined ? {} : { taskCidr }),
  });
  return { runtime, images, network };
}

/** Every task needs its cgroup: without them, refuse now rather than fail each task. */
export async function checkHostCgroups(): Promise<void> {
  await new TaskCgroups(DEFAULT_CGROUP_PARENT).probe();
}

export async function startHostAgent(options: HostAgentOptions): Promise<RunningAgent> {
  const { taskCidr, ...rest } = options;
  await checkHostCgroups();
  return startAgent({ ...rest, host: hostParts(options.dataDir, options.log, taskCidr) });
}

/**
 * Removes every container and sandbox an agent's data dir holds, killing what still runs, so
 * that the directory can be deleted. For tests and for decommissioning a host.
 */
export async function purgeHost(dataDir: string, log: Logger = silentLogger): Promise<void> {
  if (!existsSync(dataDir)) return;
  const { runtime, network, images } = hostParts(dataDir, log);
  try {
    const { containers, sandboxes } = await runtime.list();
    for (const container of containers) await runtime.deleteContainer(container.id);
    // Networks before namespaces: an address is free once its link is gone.
    await network.purge();
    for (const sandbox of sandboxes) await runtime.destroySandbox(sandbox.taskId);
    await purgeNetns(join(dataDir, "run", "netns"));
    // Storage a killed agent mounted before it recorded the sandbox.
    await purgeTaskStorage(join(dataDir, "storage"));
    await images.unmountSnapshots();
  } finally {
    await runtime.close();
  }
}

/**
 * The agent of `berth up`: this machine, in the same process, over loopback. The server
 * enrolls its credential directly (`enrollLocalHost`), so it needs no join token.
 */
export function startLocalAgent(options: {
  server: string;
  dataDir: string;
  log: Logger;
}): Promise<RunningAgent> {
  return startHostAgent({ ...options, availabilityZone: "us-east-1a" });
}
