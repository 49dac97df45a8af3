/** The ContainerRuntime contract against runc (real containers, root). */
import { createRuncRuntime } from "../../src/agent/runtime/index.js";
import { runtimeContract } from "../unit/agent/runtime/contract-suite.js";

runtimeContract("runc", (options) => createRuncRuntime(options));
