/**
 * Running containers on the host: task sandboxes (cgroup + network namespace), OCI bundles run
 * by runc (or runsc) under conmon, exits, OOM kills and logs. The contract is in types.ts.
 */
export type {
  BindMount,
  ContainerExit,
  ContainerInfo,
  ContainerRuntime,
  ContainerSpec,
  ContainerUlimit,
  HostFootprint,
  LogLine,
  ReadLogsOptions,
  RootfsProvider,
  RootfsSource,
  SandboxUsage,
  TaskSandbox,
  TaskSandboxSpec,
  TaskStorage,
  TaskStorageSpec,
} from "./types.js";
export { RuntimeErrorCode } from "./errors.js";
export {
  createHostRuntime,
  createRuncRuntime,
  createRunscRuntime,
  type RuntimeOptions,
} from "./runtimes.js";

// The pieces below are what the runtime is made of; exported for tests, tools and benchmarks.
export {
  cpuQuotaUs,
  DEFAULT_CGROUP_PARENT,
  detectCgroupVersion,
  TaskCgroups,
  type CgroupVersion,
} from "./cgroups.js";
export { ALLOWED_CAPABILITIES, DEFAULT_CAPABILITIES, resolveCapabilities } from "./capabilities.js";
export { buildOciSpec, MASKED_PATHS } from "./oci-spec.js";
export { defaultSeccompProfile } from "./seccomp-profile.js";
export { LogParser } from "./logs.js";
export { purgeTaskStorage, TaskFilesystems } from "./task-storage.js";
export { purgeNetns } from "./netns.js";
export { runCommand } from "./command.js";
export { taskResolvConf } from "./resolv-conf.js";
