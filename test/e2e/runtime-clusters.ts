/**
 * Two clusters on one test Berth, one per sandbox runtime: `plain` (runc, the default) and
 * `gvisor` (tagged `berth:runtime` = runsc), with busybox pushed. The tasks a test starts are
 * noted with `started`, and stop() stops them before it stops the Berth: the fixture of the
 * tests that run the same cases under both runtimes.
 */
import { CreateClusterCommand, StopTaskCommand } from "@aws-sdk/client-ecs";
import { startEcsTestbed, type EcsTestbed } from "../../src/testing/index.js";

export interface RuntimeClusters extends EcsTestbed {
  /** Notes a task to stop at the end. */
  started(cluster: string, task: string): void;
}

export async function startRuntimeClusters(): Promise<RuntimeClusters> {
  const bed = await startEcsTestbed();
  const { ecs } = bed;
  const started: Array<{ cluster: string; task: string }> = [];
  try {
    await ecs.send(new CreateClusterCommand({ clusterName: "plain" }));
    await ecs.send(
      new CreateClusterCommand({
        clusterName: "gvisor",
        tags: [{ key: "berth:runtime", value: "runsc" }],
      }),
    );
  } catch (error) {
    await bed.stop();
    throw error;
  }
  return {
    ...bed,
    started: (cluster, task) => started.push({ cluster, task }),
    async stop() {
      for (const { cluster, task } of started)
        await ecs.send(new StopTaskCommand({ cluster, task })).catch(() => undefined);
      await bed.stop();
    },
  };
}
