/** What the task state machine needs from the host, as narrow interfaces. */
import type { OwnRegistry, PulledImage, PullOptions } from "../images/index.js";
import type { TaskAddress, TaskNetwork } from "../network/index.js";
import type { TaskAssignment } from "../../protocol/index.js";
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
  /** Where the task reaches Berth's API on `gateway` (`AWS_ENDPOINT_URL`), if served. */
  apiUrl?(gateway: string): Promise<string>;
  /** Listens on `gateway` (once it is the host's: after the cluster network's first attach). */
  listen(gateway: string): Promise<void>;
  /** The task is gone from `gateway`; the listener goes when no other live task is on it. */
  release(gateway: string, taskId: string): Promise<void>;
}

/** A sandbox's network made ahead: its namespace, its address on the cluster's network attached. */
export interface PreparedSandbox {
  netnsPath: string;
  address: TaskAddress;
}

/** Where a launch gets a prepared sandbox (sandbox-pool.ts). */
export interface PreparedSandboxes {
  /** One for the task, now its own to remove; undefined: the launch makes its own. */
  take(assignment: TaskAssignment): Promise<PreparedSandbox | undefined>;
}
