/** Commands that talk to a running Berth through its AWS API, like any other client. */
import { ListClustersCommand, DescribeClustersCommand } from "@aws-sdk/client-ecs";
import { ecsClient } from "./client.js";
import { defineCommand } from "./command.js";
import { CLIENT_FLAGS, clientConfigFrom } from "./config.js";
import { listClusterArns } from "./task-lookup.js";

/** `berth status`: is it up, and what does it hold. */
export const status = defineCommand({
  name: "status",
  summary: "check that a Berth answers, and count its clusters",
  usage: ["berth status [--endpoint URL]"],
  flags: CLIENT_FLAGS,
  run: async ({ flags }, env) => {
    const config = clientConfigFrom(flags, env);
    const health = await fetch(new URL("/_berth/health", config.endpoint)).catch(() => undefined);
    if (health === undefined || !health.ok) {
      process.stderr.write(
        `Berth at ${config.endpoint} is not answering. Start it with \`npm run up\` (or \`berth up\`).\n`,
      );
      return 1;
    }
    const client = ecsClient(config);
    const { clusterArns = [] } = await client.send(new ListClustersCommand({}));
    process.stdout.write(`Berth at ${config.endpoint} is up; ${clusterArns.length} cluster(s).\n`);
    client.destroy();
    return 0;
  },
});

/** `berth clusters`: the active clusters, one line each. */
export const clusters = defineCommand({
  name: "clusters",
  summary: "list the clusters with their running tasks and services",
  usage: ["berth clusters [--endpoint URL]"],
  flags: CLIENT_FLAGS,
  run: async ({ flags }, env) => {
    const config = clientConfigFrom(flags, env);
    const client = ecsClient(config);
    try {
      const arns = await listClusterArns(client);
      process.stdout.write("NAME                 STATUS    TASKS  SERVICES\n");
      for (let i = 0; i < arns.length; i += 100) {
        const { clusters: found = [] } = await client.send(
          new DescribeClustersCommand({ clusters: arns.slice(i, i + 100) }),
        );
        for (const cluster of found) {
          const name = (cluster.clusterName ?? "").padEnd(20);
          const state = (cluster.status ?? "").padEnd(9);
          process.stdout.write(
            `${name} ${state} ${String(cluster.runningTasksCount ?? 0).padStart(5)}  ${String(cluster.activeServicesCount ?? 0).padStart(8)}\n`,
          );
        }
      }
      return 0;
    } finally {
      client.destroy();
    }
  },
});
