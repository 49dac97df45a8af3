/**
 * What the image store offers the task layer; src/agent/tasks/ports.ts re-exports these
 * shapes, so images need not import tasks.
 */

/** The parts of an OCI image config that decide how a container starts. */
export interface ImageRunConfig {
  entrypoint?: string[];
  cmd?: string[];
  env?: string[];
  workingDir?: string;
  user?: string;
  /** The image's VOLUME paths. */
  volumes?: string[];
}

export interface PulledImage {
  /** The manifest digest (of the linux/amd64 manifest when the reference named an index). */
  digest: string;
  config: ImageRunConfig;
}

export interface PullOptions {
  credentials?: { username: string; password: string };
  /**
   * Ask the registry with these credentials even for an image pinned by digest and already
   * here: a Fargate task pulls afresh, so its execution role's (or repositoryCredentials')
   * right to the image is tested at each start, not only on the host's first pull.
   */
  recheck?: boolean;
  /** Bytes of layers present or downloaded so far, of all the image's layers. */
  onProgress?: (bytesDone: number, bytesTotal: number) => void;
}
