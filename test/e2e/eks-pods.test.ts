/**
 * Pods on Berth's EKS with real clients and real containers: `aws eks create-cluster`,
 * `create-fargate-profile`, `update-kubeconfig`, then kubectl applies a pod (created, unchanged,
 * configured), waits for Ready, sees its awsvpc IP and Fargate node, its CapacityProvisioned
 * annotation and events; the pod is one ECS task (DescribeTasks); deleting it stops the task.
 * Pods Fargate cannot run stay Pending with FailedScheduling; unserved kinds fail as on Kubernetes.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  startEksTestbed,
  until,
  type BerthProcess,
  type EksTestCluster,
} from "../../src/testing/index.js";

let berth: BerthProcess;
let eks: EksTestCluster;
let image: string;

function pod(
  name: string,
  extra: Record<string, unknown> = {},
  labels: Record<string, string> = {},
) {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, labels: { app: name, ...labels } },
    spec: {
      terminationGracePeriodSeconds: 2,
      containers: [
        {
          name: "main",
          image,
          command: [
            "sh",
            "-c",
            "echo hello from $HOSTNAME; trap 'exit 0' TERM; while true; do sleep 1; done",
          ],
          resources: { requests: { cpu: "1", memory: "8Gi" } },
        },
      ],
      ...extra,
    },
  };
}

before(async () => {
  ({ berth, eks, image } = await startEksTestbed());
});

after(async () => {
  await berth.stop();
});

describe("pods on EKS Fargate", () => {
  let taskArn = "";

  it("kubectl apply creates a pod that becomes Ready as one Fargate task", async () => {
    const file = eks.manifest("web", pod("web"));
    assert.match(await eks.kubectl(["apply", "-f", file]), /^pod\/web created/m);
    await eks.kubectl(["wait", "--for=condition=Ready", "pod/web", "--timeout=120s"]);
    const wide = await eks.kubectl(["get", "pods", "-o", "wide"]);
    const row = wide.split("\n").find((line) => line.startsWith("web "));
    assert.ok(row !== undefined, wide);
    assert.match(
      row,
      /web\s+1\/1\s+Running\s+0\s+\S+\s+(100\.\d+\.\d+\.\d+)\s+fargate-ip-100-\S+\.us-east-1\.compute\.internal/,
    );
    const object = JSON.parse(await eks.kubectl(["get", "pod", "web", "-o", "json"])) as {
      metadata: { annotations: Record<string, string> };
      status: { podIP: string };
    };
    // 1 vCPU + 8 GiB requested + 256 MB runs as 2 vCPU / 9 GB, as EKS sizes it.
    assert.equal(object.metadata.annotations.CapacityProvisioned, "2vCPU 9GB");
    taskArn = object.metadata.annotations["berth.dev/task-arn"] ?? "";
    const described = await eks.aws([
      "ecs",
      "describe-tasks",
      "--cluster",
      "demo",
      "--tasks",
      taskArn,
    ]);
    const task = (described.tasks as Record<string, unknown>[])[0] ?? {};
    assert.equal(task.lastStatus, "RUNNING");
    assert.equal(task.cpu, "2048");
    assert.equal(task.memory, "9216");
    const address = (
      (task.attachments as { details: { name: string; value: string }[] }[])[0]?.details ?? []
    ).find((d) => d.name === "privateIPv4Address")?.value;
    assert.equal(address, object.status.podIP);
  });

  it("apply again is unchanged, a changed label is configured; describe shows the annotation and events", async () => {
    const file = eks.manifest("web", pod("web"));
    assert.match(await eks.kubectl(["apply", "-f", file]), /^pod\/web unchanged/m);
    const relabelled = eks.manifest("web", pod("web", {}, { tier: "front" }));
    assert.match(await eks.kubectl(["apply", "-f", relabelled]), /^pod\/web configured/m);
    assert.match(await eks.kubectl(["get", "pods", "-l", "tier=front", "-o", "name"]), /pod\/web/);
    const described = await eks.kubectl(["describe", "pod", "web"]);
    assert.match(described, /CapacityProvisioned:\s+2vCPU 9GB/);
    assert.match(described, /Scheduled/);
  });

  it("kubectl delete pod returns once the task is STOPPED", async () => {
    assert.match(await eks.kubectl(["delete", "pod", "web", "--timeout=90s"]), /pod "web" deleted/);
    const described = await eks.aws([
      "ecs",
      "describe-tasks",
      "--cluster",
      "demo",
      "--tasks",
      taskArn,
    ]);
    assert.equal((described.tasks as { lastStatus: string }[])[0]?.lastStatus, "STOPPED");
    const missing = await eks.kubectlFailure(["get", "pod", "web"]);
    assert.match(missing.stderr, /pods "web" not found/);
  });

  it("a pod no profile selects, or with hostNetwork, stays Pending with FailedScheduling", async () => {
    await eks.kubectl(["create", "namespace", "other"]);
    const elsewhere = { ...pod("lost"), metadata: { name: "lost", namespace: "other" } };
    await eks.kubectl(["apply", "-f", eks.manifest("lost", elsewhere)]);
    await eks.kubectl([
      "apply",
      "-f",
      eks.manifest("hostnet", pod("hostnet", { hostNetwork: true })),
    ]);
    await until(
      "FailedScheduling in other",
      () => eks.kubectl(["get", "events", "-n", "other"]),
      (out) => out.includes("FailedScheduling"),
      { timeoutMs: 60_000 },
    );
    await until(
      "FailedScheduling for hostNetwork",
      () => eks.kubectl(["get", "events"]),
      (out) => out.includes("hostNetwork is not supported"),
      { timeoutMs: 60_000 },
    );
    const phases = await eks.kubectl([
      "get",
      "pods",
      "-A",
      "-o",
      "jsonpath={range .items[*]}{.metadata.name}={.status.phase} {end}",
    ]);
    assert.match(phases, /lost=Pending/);
    assert.match(phases, /hostnet=Pending/);
    // Unscheduled pods have no task, so they go at once.
    await eks.kubectl(["delete", "pod", "hostnet"]);
    await eks.kubectl(["delete", "pod", "lost", "-n", "other"]);
  });

  it("unserved kinds and unknown objects fail as Kubernetes fails them", async () => {
    const daemonSet = eks.manifest("ds", {
      apiVersion: "apps/v1",
      kind: "DaemonSet",
      metadata: { name: "agent" },
      spec: {
        selector: { matchLabels: { app: "agent" } },
        template: {
          metadata: { labels: { app: "agent" } },
          spec: { containers: [{ name: "a", image }] },
        },
      },
    });
    const failed = await eks.kubectlFailure(["apply", "-f", daemonSet]);
    assert.match(failed.stderr, /no matches for kind "DaemonSet" in version "apps\/v1"/);
    assert.match(
      (await eks.kubectlFailure(["get", "pod", "nope"])).stderr,
      /Error from server \(NotFound\): pods "nope" not found/,
    );
  });
});
