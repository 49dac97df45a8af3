/** What the task state machine needs from the host, as narrow interfaces. */
import type { OwnRegistry, PulledImage, PullOptions } from "../images/index.js";
import type { TaskNetwork } from "../network/index.js";
import type { ContainerRuntime } from "../runtime/index.js";

// The image store's own shapes: what a pull gives the task layer.
export type { ImageRunConfig, PulledImage, PullOptions } from "../images/index.js";
export type { TaskAddress, TaskNetwork } from "../network/index.js";

export interface ImagePuller {
  pull(reference: string, options: PullOptions): Promise<PulledImage>;
  /** Where Berth's own registry is reached from this host (the server says, on welcome). */
  useOwnRegistry?(own: OwnRegistry): void;
}

export interface TaskHost {
  runtime: ContainerRuntime;
  images: ImagePuller;
  network: TaskNetwork;
}

/** The task metadata endpoint the agent serves on each cluster network's gateway. */
export interface MetadataEndpoint {
  /** Its base URL on `gateway` (`http://GATEWAY:PORT`), before it listens there. */
  url(gateway: string): Promise<string>;
  /** Listens on `gateway` (once it is the host's: after the cluster network's first attach). */
  listen(gateway: string): Promise<void>;
  /** The task is gone from `gateway`; the listener goes when no other live task is on it. */
  release(gateway: string, taskId: string): Promise<void>;
}
