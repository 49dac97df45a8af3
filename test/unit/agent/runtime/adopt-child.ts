/**
 * A stand-in agent for the adoption test: starts two containers that wait for a file in a
 * shared dir and then exit 7 and 8, prints their ids, and stays alive to be SIGKILLed.
 */
import { createRuncRuntime } from "../../../../src/agent/runtime/index.js";

const [dataDir = "", cgroupParent = "", rootfs = "", signalDir = "", taskId = ""] =
  process.argv.slice(2);
const runtime = createRuncRuntime({ dataDir, cgroupParent });
await runtime.prepareSandbox({ taskId, cpu: 512, memoryMiB: 128 });
const ids: string[] = [];
for (const [name, code] of [
  ["early", 7],
  ["late", 8],
] as const) {
  const id = `${taskId}-${name}`;
  await runtime.createContainer({
    id,
    taskId,
    name,
    rootfs: { path: rootfs },
    args: [
      "sh",
      "-c",
      `echo started; while [ ! -f /signal/${name} ]; do sleep 0.05; done; echo done; exit ${code}`,
    ],
    mounts: [{ source: signalDir, destination: "/signal", readonly: true }],
  });
  await runtime.startContainer(id);
  ids.push(id);
}
process.stdout.write(JSON.stringify({ ids }) + "\n");
setInterval(() => undefined, 60_000);
