/**
 * `npm run bench:pods`: EKS pods on Berth with the real clients, beside the same container
 * started through ECS in the same run.
 *   - one pod: `kubectl apply -f pod.json` then `kubectl wait --for=condition=Ready` (wall time,
 *     both kubectl processes included, as a user runs them), p50/p99 over BENCH_PODS pods of a
 *     cached image; the peer is the same container through ECS RunTask -> RUNNING (SDK, polled
 *     every 50 ms), interleaved one for one;
 *   - a Deployment of 20 replicas: `kubectl apply` then `kubectl rollout status`; the peer is
 *     an ECS service of 20 tasks: CreateService -> runningCount 20.
 * Ratio < 1 means the Kubernetes path is slower than the bare ECS one (its overhead).
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import {
  CreateServiceCommand,
  DescribeServicesCommand,
  DescribeTasksCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  StopTaskCommand,
  UpdateServiceCommand,
  DeleteServiceCommand,
} from "@aws-sdk/client-ecs";
import {
  KUBECTL,
  pushBusyboxImage,
  startAgentProcess,
  startBerthProcess,
  startEksCluster,
} from "../../src/testing/index.js";

const run = promisify(execFile);
const PODS = Number(process.env.BENCH_PODS ?? 50);
const REPLICAS = 20;
const COMMAND = ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const pct = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
};

async function main(): Promise<void> {
  const berth = await startBerthProcess({ args: ["--no-local-agent"] });
  const agent = await startAgentProcess({
    ...berth.join,
    token: berth.joinToken,
    availabilityZone: "us-east-1a",
    cpu: 16384,
    memory: 65536,
  });
  const ecs = new ECSClient(berth.clientConfig);
  try {
    const image = (await pushBusyboxImage(berth, "busybox")).uri;
    const eks = await startEksCluster(berth, "bench");
    const env = { ...berth.awsEnv, KUBECONFIG: eks.kubeconfig };
    const kubectl = (args: string[]) => run(KUBECTL, args, { env });
    const pod = (name: string) =>
      eks.manifest(name, {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name, labels: { app: "bench" } },
        spec: {
          terminationGracePeriodSeconds: 0,
          containers: [{ name: "main", image, command: COMMAND }],
        },
      });
    const definition =
      (
        await ecs.send(
          new RegisterTaskDefinitionCommand({
            family: "bench-peer",
            requiresCompatibilities: ["FARGATE"],
            networkMode: "awsvpc",
            cpu: "256",
            memory: "512",
            containerDefinitions: [
              {
                name: "main",
                image,
                entryPoint: COMMAND.slice(0, 2),
                command: COMMAND.slice(2),
                stopTimeout: 0,
              },
            ],
          }),
        )
      ).taskDefinition?.taskDefinitionArn ?? "";
    const network = { awsvpcConfiguration: { subnets: ["subnet-a"] } };

    // The image is cached on the host before anything is timed.
    await kubectl(["apply", "-f", pod("warm")]);
    await kubectl(["wait", "--for=condition=Ready", "pod/warm", "--timeout=120s"]);
    await kubectl(["delete", "pod", "warm", "--grace-period=0"]);

    const podTimes: number[] = [];
    const taskTimes: number[] = [];
    for (let i = 0; i < PODS; i++) {
      const name = `p${i}`;
      const file = pod(name);
      let start = performance.now();
      await kubectl(["apply", "-f", file]);
      await kubectl(["wait", "--for=condition=Ready", `pod/${name}`, "--timeout=120s"]);
      podTimes.push(performance.now() - start);

      start = performance.now();
      const ran = await ecs.send(
        new RunTaskCommand({
          cluster: "default",
          taskDefinition: definition,
          launchType: "FARGATE",
          networkConfiguration: network,
        }),
      );
      const arn = ran.tasks?.[0]?.taskArn ?? "";
      for (;;) {
        const described = await ecs.send(
          new DescribeTasksCommand({ cluster: "default", tasks: [arn] }),
        );
        const status = described.tasks?.[0]?.lastStatus;
        if (status === "RUNNING") break;
        if (status === "STOPPED") throw new Error(`peer task stopped: ${arn}`);
        await sleep(50);
      }
      taskTimes.push(performance.now() - start);
      await kubectl(["delete", "pod", name, "--grace-period=0", "--wait=false"]);
      await ecs.send(new StopTaskCommand({ cluster: "default", task: arn }));
    }
    // Let the pods' tasks go before the Deployment needs the room.
    await sleep(5000);

    const deployment = eks.manifest("deploy", {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "bench" },
      spec: {
        replicas: REPLICAS,
        selector: { matchLabels: { app: "bench-deploy" } },
        template: {
          metadata: { labels: { app: "bench-deploy" } },
          spec: {
            terminationGracePeriodSeconds: 0,
            containers: [{ name: "main", image, command: COMMAND }],
          },
        },
      },
    });
    let start = performance.now();
    await kubectl(["apply", "-f", deployment]);
    await kubectl(["rollout", "status", "deployment/bench", "--timeout=300s"]);
    const deployTime = performance.now() - start;
    await kubectl(["delete", "deployment", "bench"]);
    await sleep(5000);

    start = performance.now();
    await ecs.send(
      new CreateServiceCommand({
        cluster: "default",
        serviceName: "bench-peer",
        taskDefinition: definition,
        desiredCount: REPLICAS,
        launchType: "FARGATE",
        networkConfiguration: network,
      }),
    );
    for (;;) {
      const service = (
        await ecs.send(
          new DescribeServicesCommand({ cluster: "default", services: ["bench-peer"] }),
        )
      ).services?.[0];
      if (service?.runningCount === REPLICAS) break;
      await sleep(50);
    }
    const serviceTime = performance.now() - start;
    await ecs.send(
      new UpdateServiceCommand({ cluster: "default", service: "bench-peer", desiredCount: 0 }),
    );
    await ecs.send(
      new DeleteServiceCommand({ cluster: "default", service: "bench-peer", force: true }),
    );

    const row = (label: string, berthMs: number, peerMs: number) =>
      `${label.padEnd(48)} ${berthMs.toFixed(0).padStart(7)} ms ${peerMs.toFixed(0).padStart(7)} ms   ${(peerMs / berthMs).toFixed(2)}\n`;
    process.stdout.write(
      `\nbench/pods (${PODS} pods of a cached busybox image, interleaved with ${PODS} ECS tasks; one agent)\n` +
        `${"row".padEnd(48)} ${"kubectl".padStart(10)} ${"ECS".padStart(10)}   ratio (ECS/kubectl)\n` +
        row(
          "pod: apply -> Ready vs RunTask -> RUNNING, p50",
          pct(podTimes, 50),
          pct(taskTimes, 50),
        ) +
        row(
          "pod: apply -> Ready vs RunTask -> RUNNING, p99",
          pct(podTimes, 99),
          pct(taskTimes, 99),
        ) +
        row(
          `Deployment of ${REPLICAS} -> rolled out vs service -> ${REPLICAS} running`,
          deployTime,
          serviceTime,
        ),
    );
  } finally {
    ecs.destroy();
    await agent.stop();
    await berth.stop();
  }
}

await main();
