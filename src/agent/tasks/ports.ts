/** What the task state machine needs from the host, as narrow interfaces. */
import type { PulledImage, PullOptions } from "../images/index.js";
import type { TaskNetwork } from "../network/index.js";
import type { ContainerRuntime } from "../runtime/index.js";

// The image store's own shapes: what a pull gives the task layer.
export type { ImageRunConfig, PulledImage, PullOptions } from "../images/index.js";
export type { TaskAddress, TaskNetwork } from "../network/index.js";

export interface ImagePuller {
  pull(reference: string, options: PullOptions): Promise<PulledImage>;
}

export interface TaskHost {
  runtime: ContainerRuntime;
  images: ImagePuller;
  network: TaskNetwork;
}
