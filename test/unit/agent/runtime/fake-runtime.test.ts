/** The in-memory fake runtime keeps the ContainerRuntime contract runc and runsc keep. */
import { FakeContainerRuntime } from "./fake-runtime.js";
import { runtimeContract } from "./contract-suite.js";

runtimeContract("fake", (options) => new FakeContainerRuntime(options), {
  sharedNetwork: false,
  realContainers: false,
});
