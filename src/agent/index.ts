/**
 * The agent: everything that touches a compute host. Other components import only this file.
 */
export * from "./runtime/index.js";
