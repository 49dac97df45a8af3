/**
 * Deployments on Berth's EKS with real kubectl and real containers: a Deployment becomes a
 * ReplicaSet and Fargate pods (one ECS task each), `rollout status` waits for it, `scale` goes
 * through the /scale subresource, a new image rolls onto a new ReplicaSet (the old tasks stop),
 * and `delete deploy` stops every task.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  pushBusyboxImage,
  startEksTestbed,
  until,
  type BerthProcess,
  type EksTestCluster,
} from "../../src/testing/index.js";

let berth: BerthProcess;
let eks: EksTestCluster;
let image: string;
let image2: string;

interface Pod {
  metadata: {
    name: string;
    annotations?: Record<string, string>;
    ownerReferences?: { name: string }[];
  };
  spec: { containers: { image: string }[] };
  status: { phase?: string };
}

function deployment(replicas: number, withImage: string) {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web" },
    spec: {
      replicas,
      selector: { matchLabels: { app: "web" } },
      strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      template: {
        metadata: { labels: { app: "web" } },
        spec: {
          terminationGracePeriodSeconds: 2,
          containers: [
            {
              name: "main",
              image: withImage,
              command: [
                "sh",
                "-c",
                "echo hello from $HOSTNAME; trap 'echo got TERM; exit 0' TERM; i=0; while true; do i=$((i+1)); echo tick $i; sleep 1; done",
              ],
              resources: { requests: { cpu: "250m", memory: "256Mi" } },
            },
          ],
        },
      },
    },
  };
}

async function pods(): Promise<Pod[]> {
  return (
    JSON.parse(await eks.kubectl(["get", "pods", "-l", "app=web", "-o", "json"])) as {
      items: Pod[];
    }
  ).items;
}

async function taskStatuses(arns: string[]): Promise<string[]> {
  const described = await eks.aws([
    "ecs",
    "describe-tasks",
    "--cluster",
    "demo",
    "--tasks",
    ...arns,
  ]);
  return (described.tasks as { lastStatus: string }[]).map((t) => t.lastStatus);
}

const taskOf = (pod: Pod) => pod.metadata.annotations?.["berth.dev/task-arn"] ?? "";

before(async () => {
  ({ berth, eks, image } = await startEksTestbed());
  image2 = (await pushBusyboxImage(berth, "busybox", { tag: "v2" })).uri;
});

after(async () => {
  await berth.stop();
});

describe("Deployments on EKS Fargate", () => {
  let firstTasks: string[] = [];

  it("apply creates a ReplicaSet and pods; rollout status waits until they are available", async () => {
    const file = eks.manifest("web", deployment(2, image));
    assert.match(await eks.kubectl(["apply", "-f", file]), /^deployment\.apps\/web created/m);
    const status = await eks.kubectl(["rollout", "status", "deployment/web", "--timeout=180s"]);
    assert.match(status, /deployment "web" successfully rolled out/);
    const running = await pods();
    assert.equal(running.length, 2);
    const sets = (
      JSON.parse(await eks.kubectl(["get", "rs", "-o", "json"])) as {
        items: { metadata: { name: string; labels: Record<string, string> } }[];
      }
    ).items;
    assert.equal(sets.length, 1);
    const setName = sets[0]?.metadata.name ?? "";
    assert.match(setName, /^web-[a-z0-9]+$/);
    for (const pod of running) {
      assert.equal(pod.status.phase, "Running");
      assert.equal(pod.metadata.ownerReferences?.[0]?.name, setName);
      assert.ok(pod.metadata.name.startsWith(`${setName}-`), pod.metadata.name);
    }
    firstTasks = running.map(taskOf);
    assert.deepEqual(await taskStatuses(firstTasks), ["RUNNING", "RUNNING"]);
    const listed = await eks.kubectl(["get", "deploy", "web"]);
    assert.match(listed, /web\s+2\/2\s+2\s+2\s/);
  });

  it("kubectl scale goes through /scale and the ReplicaSet follows", async () => {
    // `--raw` paths are absolute: Berth's endpoint carries the cluster in its path.
    const scale = JSON.parse(
      await eks.kubectl([
        "get",
        "--raw",
        "/clusters/demo/apis/apps/v1/namespaces/default/deployments/web/scale",
      ]),
    ) as { kind: string; spec: { replicas: number }; status: { selector: string } };
    assert.equal(scale.kind, "Scale");
    assert.equal(scale.spec.replicas, 2);
    assert.equal(scale.status.selector, "app=web");
    assert.match(
      await eks.kubectl(["scale", "deployment/web", "--replicas=3"]),
      /deployment\.apps\/web scaled/,
    );
    await eks.kubectl(["rollout", "status", "deployment/web", "--timeout=180s"]);
    const ready = JSON.parse(await eks.kubectl(["get", "deploy", "web", "-o", "json"])) as {
      status: { readyReplicas: number; availableReplicas: number };
    };
    assert.equal(ready.status.availableReplicas, 3);
    assert.equal((await pods()).filter((p) => p.status.phase === "Running").length, 3);
    const invalid = await eks.kubectlFailure([
      "patch",
      "deployment/web",
      "--subresource=scale",
      "--type=merge",
      "-p",
      '{"spec":{"replicas":-1}}',
    ]);
    assert.match(invalid.stderr, /Scale "web" is invalid: spec.replicas: Invalid value: -1/);
  });

  it("kubectl logs reads a pod's and a Deployment's output; logs -f streams new lines", async () => {
    const name = (await pods())[0]?.metadata.name ?? "";
    assert.match(await eks.kubectl(["logs", name]), /^hello from \S+\n(tick \d+\n)+$/);
    assert.match(await eks.kubectl(["logs", "deploy/web"]), /^hello from \S+\ntick 1\n/);
    const last = await eks.kubectl(["logs", name, "--tail=1", "--timestamps"]);
    assert.match(last, /^\d{4}-\d\d-\d\dT\S+ tick \d+\n$/);
    const seen = Number(/tick (\d+)/.exec(last)?.[1]);
    const follower = eks.spawnKubectl(["logs", "-f", name]);
    let out = "";
    follower.stdout?.on("data", (chunk: Buffer) => (out += chunk.toString()));
    try {
      // A tick printed after kubectl started proves the stream is live, not a dump.
      await until(
        "logs -f shows a later tick",
        async () => out,
        (text) => [...text.matchAll(/tick (\d+)/g)].some((m) => Number(m[1]) > seen + 2),
        { timeoutMs: 30_000 },
      );
    } finally {
      follower.kill();
    }
    assert.match(out, /^hello from /);
    const missing = await eks.kubectlFailure(["logs", name, "-c", "nope"]);
    assert.match(missing.stderr, /container nope is not valid for pod/);
  });

  it("a new image rolls onto a new ReplicaSet and the old tasks stop", async () => {
    const before = (await pods()).map(taskOf);
    const file = eks.manifest("web", deployment(3, image2));
    assert.match(await eks.kubectl(["apply", "-f", file]), /^deployment\.apps\/web configured/m);
    const status = await eks.kubectl(["rollout", "status", "deployment/web", "--timeout=240s"]);
    assert.match(status, /successfully rolled out/);
    await until(
      "only new pods left",
      () => pods(),
      (list) => list.length === 3 && list.every((p) => p.spec.containers[0]?.image === image2),
      { timeoutMs: 120_000 },
    );
    const sets = (
      JSON.parse(await eks.kubectl(["get", "rs", "-o", "json"])) as {
        items: { spec: { replicas: number }; metadata: { annotations: Record<string, string> } }[];
      }
    ).items;
    assert.deepEqual(
      sets
        .map((s) => [s.metadata.annotations["deployment.kubernetes.io/revision"], s.spec.replicas])
        .sort(),
      [
        ["1", 0],
        ["2", 3],
      ],
    );
    await until(
      "the old tasks STOPPED",
      () => taskStatuses(before),
      (s) => s.length === 3 && !s.some((x) => x !== "STOPPED"),
      {
        timeoutMs: 60_000,
      },
    );
    const events = await eks.kubectl([
      "get",
      "events",
      "--field-selector",
      "involvedObject.kind=Deployment",
    ]);
    assert.match(events, /Scaled up replica set web-\S+ from 0 to 1/);
    assert.match(events, /Scaled down replica set web-\S+ from \d to \d/);
  });

  it("kubectl delete deploy removes its ReplicaSets and stops every task", async () => {
    const tasks = (await pods()).map(taskOf);
    assert.equal(tasks.length, 3);
    assert.match(
      await eks.kubectl(["delete", "deployment", "web"]),
      /deployment\.apps "web" deleted/,
    );
    await until(
      "no pods left",
      () => pods(),
      (list) => list.length === 0,
      { timeoutMs: 120_000 },
    );
    assert.deepEqual(await taskStatuses([...firstTasks, ...tasks]), Array(5).fill("STOPPED"));
    // Graceful: each container got SIGTERM, ran its trap and exited 0 (not killed, 137).
    const described = await eks.aws([
      "ecs",
      "describe-tasks",
      "--cluster",
      "demo",
      "--tasks",
      ...tasks,
    ]);
    const codes = (described.tasks as { containers: { exitCode?: number }[] }[]).map(
      (t) => t.containers[0]?.exitCode,
    );
    assert.deepEqual(codes, [0, 0, 0]);
    assert.equal(
      (JSON.parse(await eks.kubectl(["get", "rs", "-o", "json"])) as { items: unknown[] }).items
        .length,
      0,
    );
  });
});
