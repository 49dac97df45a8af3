/** A test harness for Berth: start one, point clients at it, tear it down. */
export {
  startBerthInProcess,
  startBerthProcess,
  startAgentProcess,
  agentRefusal,
  type AgentProcess,
  type AgentProcessOptions,
  tempDataDir,
  removeDataDir,
  BERTH_BIN,
  type TestBerth,
  type BerthProcess,
  type ProcessOptions,
} from "./harness.js";
export { buildBusyboxImage, BUSYBOX, type OciImage, type OciImageOptions } from "../agent/index.js";
export { pushBusyboxImage, type PushedImage } from "./push.js";
export { startGoRegistry, type GoRegistry } from "./go-registry.js";
export { cpuShareWindows, recentWarnings, until, type UntilOptions } from "./wait.js";
export { rejectsWith } from "./errors.js";
export { floodConnections, floodPastLimit, type Flood } from "./flood.js";
export { taskNetns } from "./task-netns.js";
export { freePort } from "./ports.js";
export {
  startEcsTestbed,
  describeTask,
  describeTasks,
  waitForTask,
  waitForTasksStopped,
  awsCli,
  taskLogs,
  type EcsTestbed,
  type TaskWaitOptions,
} from "./ecs.js";
export {
  startEksCluster,
  startEksTestbed,
  KUBECTL,
  type EksTestCluster,
  type EksTestbed,
} from "./eks.js";
export {
  Datacenter,
  freeDatacenterOctet,
  type JoinLine,
  type TestHost,
  type TestHostOptions,
} from "./test-hosts.js";
