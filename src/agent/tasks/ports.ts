/** What the task state machine needs from the host, as narrow interfaces. */
import type { ContainerRuntime } from "../runtime/index.js";

/** The parts of an OCI image config that decide how a container starts. */
export interface ImageRunConfig {
  entrypoint?: string[];
  cmd?: string[];
  env?: string[];
  workingDir?: string;
  user?: string;
}

export interface PulledImage {
  /** The manifest digest the container runs (reported as the container's imageDigest). */
  digest: string;
  config: ImageRunConfig;
}

export interface PullOptions {
  credentials?: { username: string; password: string };
  onProgress?: (bytesDone: number, bytesTotal: number) => void;
}

export interface ImagePuller {
  pull(reference: string, options: PullOptions): Promise<PulledImage>;
}

export interface TaskHost {
  runtime: ContainerRuntime;
  images: ImagePuller;
}
