/**
 * `npm run bench:pods`: EKS pods on Berth with the real clients, beside the same container
 * started through ECS in the same run.
 *   - one pod: `kubectl apply -f pod.json` then `kubectl wait --for=condition=Ready` (wall time,
 *     both kubectl processes included, as a user runs them), p50/p99 over BENCH_PODS pods of a
 *     cached image, twice: with the kubeconfig `aws eks update-kubeconfig` writes (each kubectl
 *     starts the Python `aws eks get-token`), and with a kubeconfig carrying the token (the same
 *     kubectl, no credential plugin); the peer is the same container through ECS RunTask ->
 *     RUNNING (SDK, polled every 50 ms), interleaved one for one;
 *   - the same pods from apply's start until a pod watch the bench holds open sees them Ready
 *     (what a client watching, as a controller or `kubectl get -w` does, waits), p50/p99;
 *   - where a pod's time goes (p50 of each step), from that watch and the task's
 *     createdAt/startedAt;
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
import { join } from "node:path";
import {
  KUBECTL,
  pushBusyboxImage,
  startAgentProcess,
  startBerthProcess,
  startEksCluster,
} from "../../src/testing/index.js";
import {
  watchPods,
  writeTokenKubeconfig,
  type ClusterAccess,
  type PodMarks,
} from "./kube-client.js";

const run = promisify(execFile);
const PODS = Number(process.env.BENCH_PODS ?? 50);
const REPLICAS = 20;
const COMMAND = ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"];

/** The pod controller's annotation naming a pod's task (src/kube/pods/controller.ts). */
const TASK_ANNOTATION = "berth.dev/task-arn";
/** A token kubeconfig is rewritten this often (EKS takes a token for 15 minutes). */
const TOKEN_REFRESH_MS = 5 * 60 * 1000;

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
    const cluster = (await eks.aws(["eks", "describe-cluster", "--name", "bench"])).cluster as {
      endpoint: string;
      certificateAuthority: { data: string };
    };
    const access: ClusterAccess = {
      endpoint: cluster.endpoint,
      ca: cluster.certificateAuthority.data,
      name: "bench",
      credentials: berth.credentials,
    };
    const tokenConfig = join(berth.dataDir, "kubeconfig-token");
    await writeTokenKubeconfig(tokenConfig, access);
    let tokenWritten = Date.now();
    const tokenEnv = { ...berth.awsEnv, KUBECONFIG: tokenConfig };
    const kubectlToken = (args: string[]) => run(KUBECTL, args, { env: tokenEnv });
    const watch = watchPods(access, TASK_ANNOTATION);
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

    /** One pod, as a user runs it: apply, then wait for Ready; the client's stamps. */
    const timePod = async (name: string, client: typeof kubectl): Promise<ClientMarks> => {
      const file = pod(name);
      const start = Date.now();
      await client(["apply", "-f", file]);
      const applied = Date.now();
      await client(["wait", "--for=condition=Ready", `pod/${name}`, "--timeout=120s"]);
      return { name, start, applied, ready: Date.now() };
    };
    const userPods: ClientMarks[] = [];
    const tokenPods: ClientMarks[] = [];
    const taskTimes: number[] = [];
    for (let i = 0; i < PODS; i++) {
      if (Date.now() - tokenWritten > TOKEN_REFRESH_MS) {
        await writeTokenKubeconfig(tokenConfig, access);
        tokenWritten = Date.now();
      }
      userPods.push(await timePod(`p${i}`, kubectl));
      tokenPods.push(await timePod(`t${i}`, kubectlToken));

      const start = performance.now();
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
      await kubectlToken(["delete", "pod", `p${i}`, `t${i}`, "--grace-period=0", "--wait=false"]);
      await ecs.send(new StopTaskCommand({ cluster: "default", task: arn }));
    }
    watch.close();
    const steps = async (pods: ClientMarks[]) =>
      podSteps(pods, watch.marks, await taskTimesOf(ecs, "bench", watch.marks));
    const userSteps = await steps(userPods);
    const tokenSteps = await steps(tokenPods);
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
      `${label.padEnd(52)} ${berthMs.toFixed(0).padStart(7)} ms ${peerMs.toFixed(0).padStart(7)} ms   ${(peerMs / berthMs).toFixed(2)}\n`;
    const total = (pods: ClientMarks[]) => pods.map((p) => p.ready - p.start);
    const stepRow = (label: string, key: keyof StepTimes) =>
      `${label.padEnd(52)} ${pct(userSteps[key], 50).toFixed(0).padStart(7)} ms ${pct(tokenSteps[key], 50).toFixed(0).padStart(7)} ms\n`;
    process.stdout.write(
      `\nbench/pods (${PODS} pods of a cached busybox image twice, interleaved with ${PODS} ECS tasks; one agent)\n` +
        `${"row".padEnd(52)} ${"kubectl".padStart(10)} ${"ECS".padStart(10)}   ratio (ECS/kubectl)\n` +
        row(
          "pod: apply -> Ready vs RunTask -> RUNNING, p50",
          pct(total(userPods), 50),
          pct(taskTimes, 50),
        ) +
        row(
          "pod: apply -> Ready vs RunTask -> RUNNING, p99",
          pct(total(userPods), 99),
          pct(taskTimes, 99),
        ) +
        row(
          "same, token in kubeconfig (no get-token), p50",
          pct(total(tokenPods), 50),
          pct(taskTimes, 50),
        ) +
        row(
          "same, token in kubeconfig (no get-token), p99",
          pct(total(tokenPods), 99),
          pct(taskTimes, 99),
        ) +
        row(
          `Deployment of ${REPLICAS} -> rolled out vs service -> ${REPLICAS} running`,
          deployTime,
          serviceTime,
        ) +
        `\npod: kubectl apply -> Ready seen by a watch (no kubectl wait)\n` +
        `${"".padEnd(52)} ${"get-token".padStart(10)} ${"token".padStart(10)}\n` +
        `${"p50".padEnd(52)} ${pct(userSteps.ready, 50).toFixed(0).padStart(7)} ms ${pct(tokenSteps.ready, 50).toFixed(0).padStart(7)} ms\n` +
        `${"p99".padEnd(52)} ${pct(userSteps.ready, 99).toFixed(0).padStart(7)} ms ${pct(tokenSteps.ready, 99).toFixed(0).padStart(7)} ms\n` +
        `\nwhere a pod's time goes (p50 of each step)       ${"get-token".padStart(10)} ${"token".padStart(10)}\n` +
        stepRow("kubectl apply (process start -> exit)", "apply") +
        stepRow("apply start -> pod created (watch ADDED)", "created") +
        stepRow("pod created -> its task created (RunTask)", "scheduled") +
        stepRow("task created -> task RUNNING (startedAt)", "started") +
        stepRow("task RUNNING -> pod Ready (watch MODIFIED)", "mirrored") +
        stepRow("pod Ready -> kubectl wait exits", "waitTail") +
        stepRow("kubectl wait (process start -> exit)", "wait"),
    );
  } finally {
    ecs.destroy();
    await agent.stop();
    await berth.stop();
  }
}

await main();

interface ClientMarks {
  name: string;
  start: number;
  applied: number;
  ready: number;
}

interface StepTimes {
  apply: number[];
  created: number[];
  scheduled: number[];
  started: number[];
  mirrored: number[];
  waitTail: number[];
  wait: number[];
  /** apply's start -> the pod Ready as a watch sees it (no second kubectl process). */
  ready: number[];
}

/** The tasks' createdAt and startedAt (ms), by ARN, from DescribeTasks in the EKS cluster's ECS cluster. */
async function taskTimesOf(
  ecs: ECSClient,
  cluster: string,
  marks: Map<string, PodMarks>,
): Promise<Map<string, { created: number; started: number }>> {
  const arns = [...marks.values()].flatMap((m) => (m.taskArn === undefined ? [] : [m.taskArn]));
  const times = new Map<string, { created: number; started: number }>();
  for (let i = 0; i < arns.length; i += 100) {
    const described = await ecs.send(
      new DescribeTasksCommand({ cluster, tasks: arns.slice(i, i + 100) }),
    );
    for (const t of described.tasks ?? [])
      if (t.taskArn !== undefined && t.createdAt !== undefined && t.startedAt !== undefined)
        times.set(t.taskArn, { created: t.createdAt.getTime(), started: t.startedAt.getTime() });
  }
  return times;
}

/** Each pod's steps, from the client's stamps, the watch's and the task's. */
function podSteps(
  pods: ClientMarks[],
  marks: Map<string, PodMarks>,
  tasks: Map<string, { created: number; started: number }>,
): StepTimes {
  const steps: StepTimes = {
    apply: [],
    created: [],
    scheduled: [],
    started: [],
    mirrored: [],
    waitTail: [],
    wait: [],
    ready: [],
  };
  for (const p of pods) {
    steps.apply.push(p.applied - p.start);
    steps.wait.push(p.ready - p.applied);
    const m = marks.get(p.name);
    const task = m?.taskArn === undefined ? undefined : tasks.get(m.taskArn);
    if (m?.added === undefined || m.ready === undefined || task === undefined) continue;
    steps.created.push(m.added - p.start);
    steps.scheduled.push(task.created - m.added);
    steps.started.push(task.started - task.created);
    steps.mirrored.push(m.ready - task.started);
    steps.waitTail.push(p.ready - m.ready);
    steps.ready.push(m.ready - p.start);
  }
  return steps;
}
