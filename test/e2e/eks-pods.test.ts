/**
 * Pods on Berth's EKS with real clients and real containers: `aws eks create-cluster`,
 * `create-fargate-profile`, `update-kubeconfig`, then kubectl applies a pod (created, unchanged,
 * configured), waits for Ready, sees its awsvpc IP and Fargate node, its CapacityProvisioned
 * annotation and events; the pod is one ECS task (DescribeTasks); deleting it stops the task.
 * Pods Fargate cannot run stay Pending with FailedScheduling; unserved kinds fail as on Kubernetes.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import {
  pushBusyboxImage,
  startBerthProcess,
  until,
  type BerthProcess,
} from "../../src/testing/index.js";

const run = promisify(execFile);
const AWS = "/usr/bin/aws";
const KUBECTL = "/usr/bin/kubectl";

let berth: BerthProcess;
let image: string;
let kubeconfig: string;

async function aws(args: string[]): Promise<Record<string, unknown>> {
  const { stdout } = await run(
    AWS,
    ["--endpoint-url", berth.endpoint, "--output", "json", ...args],
    {
      env: berth.awsEnv,
    },
  );
  return stdout.trim() === "" ? {} : (JSON.parse(stdout) as Record<string, unknown>);
}

async function kubectl(args: string[], input?: string): Promise<string> {
  const child = run(KUBECTL, args, { env: { ...berth.awsEnv, KUBECONFIG: kubeconfig } });
  if (input !== undefined) {
    child.child.stdin?.end(input);
  }
  return (await child).stdout;
}

async function kubectlFailure(args: string[]): Promise<{ code: number; stderr: string }> {
  try {
    await kubectl(args);
  } catch (error) {
    const e = error as { code: number; stderr: string };
    return { code: e.code, stderr: e.stderr };
  }
  throw new Error(`kubectl ${args.join(" ")} succeeded`);
}

function manifest(name: string, body: Record<string, unknown>): string {
  const file = join(berth.dataDir, `${name}.json`);
  writeFileSync(file, JSON.stringify(body));
  return file;
}

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
  berth = await startBerthProcess();
  image = (await pushBusyboxImage(berth, "busybox")).uri;
  kubeconfig = join(berth.dataDir, "kubeconfig-test");
  await aws([
    "eks",
    "create-cluster",
    "--name",
    "demo",
    "--role-arn",
    "arn:aws:iam::000000000000:role/eks",
    "--resources-vpc-config",
    "subnetIds=subnet-a",
  ]);
  await aws([
    "eks",
    "create-fargate-profile",
    "--cluster-name",
    "demo",
    "--fargate-profile-name",
    "default",
    "--pod-execution-role-arn",
    "arn:aws:iam::000000000000:role/pods",
    "--selectors",
    "namespace=default",
  ]);
  await run(
    AWS,
    [
      "--endpoint-url",
      berth.endpoint,
      "eks",
      "update-kubeconfig",
      "--name",
      "demo",
      "--kubeconfig",
      kubeconfig,
    ],
    { env: berth.awsEnv },
  );
});

after(async () => {
  await berth.stop();
});

describe("pods on EKS Fargate", () => {
  let taskArn = "";

  it("kubectl apply creates a pod that becomes Ready as one Fargate task", async () => {
    const file = manifest("web", pod("web"));
    assert.match(await kubectl(["apply", "-f", file]), /^pod\/web created/m);
    await kubectl(["wait", "--for=condition=Ready", "pod/web", "--timeout=120s"]);
    const wide = await kubectl(["get", "pods", "-o", "wide"]);
    const row = wide.split("\n").find((line) => line.startsWith("web "));
    assert.ok(row !== undefined, wide);
    assert.match(
      row,
      /web\s+1\/1\s+Running\s+0\s+\S+\s+(100\.\d+\.\d+\.\d+)\s+fargate-ip-100-\S+\.us-east-1\.compute\.internal/,
    );
    const object = JSON.parse(await kubectl(["get", "pod", "web", "-o", "json"])) as {
      metadata: { annotations: Record<string, string> };
      status: { podIP: string };
    };
    // 1 vCPU + 8 GiB requested + 256 MB runs as 2 vCPU / 9 GB, as EKS sizes it.
    assert.equal(object.metadata.annotations.CapacityProvisioned, "2vCPU 9GB");
    taskArn = object.metadata.annotations["berth.dev/task-arn"] ?? "";
    const described = await aws(["ecs", "describe-tasks", "--cluster", "demo", "--tasks", taskArn]);
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
    const file = manifest("web", pod("web"));
    assert.match(await kubectl(["apply", "-f", file]), /^pod\/web unchanged/m);
    const relabelled = manifest("web", pod("web", {}, { tier: "front" }));
    assert.match(await kubectl(["apply", "-f", relabelled]), /^pod\/web configured/m);
    assert.match(await kubectl(["get", "pods", "-l", "tier=front", "-o", "name"]), /pod\/web/);
    const described = await kubectl(["describe", "pod", "web"]);
    assert.match(described, /CapacityProvisioned:\s+2vCPU 9GB/);
    assert.match(described, /Scheduled/);
  });

  it("kubectl delete pod returns once the task is STOPPED", async () => {
    assert.match(await kubectl(["delete", "pod", "web", "--timeout=90s"]), /pod "web" deleted/);
    const described = await aws(["ecs", "describe-tasks", "--cluster", "demo", "--tasks", taskArn]);
    assert.equal((described.tasks as { lastStatus: string }[])[0]?.lastStatus, "STOPPED");
    const missing = await kubectlFailure(["get", "pod", "web"]);
    assert.match(missing.stderr, /pods "web" not found/);
  });

  it("a pod no profile selects, or with hostNetwork, stays Pending with FailedScheduling", async () => {
    await kubectl(["create", "namespace", "other"]);
    const elsewhere = { ...pod("lost"), metadata: { name: "lost", namespace: "other" } };
    await kubectl(["apply", "-f", manifest("lost", elsewhere)]);
    await kubectl(["apply", "-f", manifest("hostnet", pod("hostnet", { hostNetwork: true }))]);
    await until(
      "FailedScheduling in other",
      () => kubectl(["get", "events", "-n", "other"]),
      (out) => out.includes("FailedScheduling"),
      { timeoutMs: 60_000 },
    );
    await until(
      "FailedScheduling for hostNetwork",
      () => kubectl(["get", "events"]),
      (out) => out.includes("hostNetwork is not supported"),
      { timeoutMs: 60_000 },
    );
    const phases = await kubectl([
      "get",
      "pods",
      "-A",
      "-o",
      "jsonpath={range .items[*]}{.metadata.name}={.status.phase} {end}",
    ]);
    assert.match(phases, /lost=Pending/);
    assert.match(phases, /hostnet=Pending/);
    // Unscheduled pods have no task, so they go at once.
    await kubectl(["delete", "pod", "hostnet"]);
    await kubectl(["delete", "pod", "lost", "-n", "other"]);
  });

  it("unserved kinds and unknown objects fail as Kubernetes fails them", async () => {
    const daemonSet = manifest("ds", {
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
    const failed = await kubectlFailure(["apply", "-f", daemonSet]);
    assert.match(failed.stderr, /no matches for kind "DaemonSet" in version "apps\/v1"/);
    assert.match(
      (await kubectlFailure(["get", "pod", "nope"])).stderr,
      /Error from server \(NotFound\): pods "nope" not found/,
    );
  });
});
