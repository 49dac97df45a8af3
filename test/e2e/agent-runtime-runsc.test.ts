/** The ContainerRuntime contract against runsc (gVisor, ptrace platform). */
import { createRunscRuntime } from "../../src/agent/runtime/index.js";
import { runtimeContract } from "../unit/agent/runtime/contract-suite.js";

runtimeContract("runsc", (options) => createRunscRuntime(options), {
  sharedNetwork: true,
  podHostname: true,
});
