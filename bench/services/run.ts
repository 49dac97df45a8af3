/**
 * `npm run bench:services`: how fast Berth's services move, each figure beside the configured
 * timeouts that bound it:
 *   - UpdateService -> a COMPLETED rolling deployment of 10 tasks (minimumHealthyPercent 100,
 *     maximumPercent 200), bounded by the reconcile interval and the tasks' stop time;
 *   - an agent's death (kill -9) -> all its service tasks RUNNING on the other host, bounded by
 *     the host timeout plus one reconcile pass and one task start.
 */
import {
  CreateServiceCommand,
  DescribeServicesCommand,
  DescribeTasksCommand,
  ECSClient,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  UpdateServiceCommand,
  type Service,
  type Task,
} from "@aws-sdk/client-ecs";
import { pushBusyboxImage, startAgentProcess, startBerthProcess } from "../../src/testing/index.js";

const TASKS = 10;
const HOST_TIMEOUT_SECONDS = Number(process.env.BENCH_HOST_TIMEOUT ?? 5);
const RECONCILE_MS = 1000;

async function poll<T>(probe: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function main(): Promise<void> {
  const berth = await startBerthProcess({
    args: ["--no-local-agent", "--host-timeout-seconds", String(HOST_TIMEOUT_SECONDS)],
  });
  const agents = [
    await startAgentProcess({
      ...berth.join,
      token: berth.joinToken,
      availabilityZone: "us-east-1a",
      cpu: 16384,
      memory: 65536,
    }),
    await startAgentProcess({
      ...berth.join,
      token: berth.joinToken,
      availabilityZone: "us-east-1b",
      cpu: 16384,
      memory: 65536,
    }),
  ];
  const ecs = new ECSClient(berth.clientConfig);
  try {
    const image = (await pushBusyboxImage(berth, "busybox")).uri;
    const register = async (version: string): Promise<string> =>
      (
        await ecs.send(
          new RegisterTaskDefinitionCommand({
            family: "bench",
            requiresCompatibilities: ["FARGATE"],
            networkMode: "awsvpc",
            cpu: "256",
            memory: "512",
            containerDefinitions: [
              {
                name: "app",
                image,
                stopTimeout: 2,
                environment: [{ name: "VERSION", value: version }],
                command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.2; done"],
              },
            ],
          }),
        )
      ).taskDefinition?.taskDefinitionArn ?? "";
    const describe = async (): Promise<Service> =>
      (await ecs.send(new DescribeServicesCommand({ services: ["bench"] }))).services?.[0] ?? {};
    const steady = (definition: string) => (s: Service) =>
      s.taskDefinition === definition &&
      s.deployments?.length === 1 &&
      s.runningCount === TASKS &&
      s.deployments[0]?.rolloutState === "COMPLETED";

    const v1 = await register("1");
    await ecs.send(
      new CreateServiceCommand({ serviceName: "bench", taskDefinition: v1, desiredCount: TASKS }),
    );
    await poll(describe, steady(v1));

    const v2 = await register("2");
    const rolloutStart = performance.now();
    await ecs.send(new UpdateServiceCommand({ service: "bench", taskDefinition: v2 }));
    await poll(describe, steady(v2));
    const rollout = (performance.now() - rolloutStart) / 1000;

    const tasks = async (): Promise<Task[]> => {
      const { taskArns = [] } = await ecs.send(new ListTasksCommand({ serviceName: "bench" }));
      return taskArns.length === 0
        ? []
        : ((await ecs.send(new DescribeTasksCommand({ tasks: taskArns }))).tasks ?? []);
    };
    const onA = (await tasks()).filter((t) => t.availabilityZone === "us-east-1a").length;
    const deathStart = performance.now();
    await agents[0]?.kill();
    await poll(
      tasks,
      (ts) =>
        ts.length === TASKS &&
        ts.every((t) => t.lastStatus === "RUNNING" && t.availabilityZone === "us-east-1b"),
    );
    const recovery = (performance.now() - deathStart) / 1000;

    process.stdout.write(
      `\nbench/services (${TASKS} tasks; reconcile every ${RECONCILE_MS / 1000} s, host timeout ${HOST_TIMEOUT_SECONDS} s, stopTimeout 2 s)\n` +
        `rolling deployment of ${TASKS} tasks (UpdateService -> COMPLETED)     ${rollout.toFixed(2)} s\n` +
        `agent killed -> its ${onA} tasks RUNNING on the other host          ${recovery.toFixed(2)} s   (bound: host timeout ${HOST_TIMEOUT_SECONDS} s + a pass + a start; ${(recovery / HOST_TIMEOUT_SECONDS).toFixed(2)}x the timeout)\n`,
    );
  } finally {
    ecs.destroy();
    for (const agent of agents) await agent.stop();
    await berth.stop();
  }
}

await main();
