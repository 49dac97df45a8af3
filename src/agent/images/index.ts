/** Images on the host: pull, verify, unpack once, overlay per container, collect. */
export { ImageStore, meteredPieces } from "./store.js";
export type { ImageRunConfig, PulledImage, PullOptions } from "./types.js";
export { ImageErrorCode } from "./errors.js";
export { type OwnRegistry } from "./own-registry.js";
export {
  formatReference,
  isLoopbackRegistry,
  parseReference,
  type ImageReference,
} from "./reference.js";
export { RegistryClient } from "./registry-client.js";
export { unpackLayer } from "./layers.js";
export {
  buildBusyboxImage,
  BUSYBOX,
  type OciImage,
  type OciImageOptions,
} from "./busybox-image.js";
