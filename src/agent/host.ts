/**
 * Assembling a host's agent from its parts: the image store, the runc runtime (which borrows
 * root filesystems from the image store) and the agent itself. `berth agent` and the local
 * host of `berth up` both start here.
 */
import { join } from "node:path";
import type { Logger } from "../core/index.js";
import { startAgent, type AgentOptions, type RunningAgent } from "./agent.js";
import { ImageStore } from "./images/index.js";
import { createRuncRuntime } from "./runtime/index.js";

export type HostAgentOptions = Omit<AgentOptions, "host">;

export async function startHostAgent(options: HostAgentOptions): Promise<RunningAgent> {
  const images = new ImageStore({ root: join(options.dataDir, "images"), log: options.log });
  const runtime = createRuncRuntime({
    dataDir: options.dataDir,
    rootfsProvider: images,
    logger: options.log,
  });
  return startAgent({ ...options, host: { runtime, images } });
}

/** The agent of `berth up`: this machine, in the same process, joined over loopback. */
export function startLocalAgent(options: {
  server: string;
  token: string;
  dataDir: string;
  log: Logger;
  availabilityZone?: string;
}): Promise<RunningAgent> {
  return startHostAgent({ ...options, availabilityZone: options.availabilityZone ?? "us-east-1a" });
}
