/**
 * One pod's life through the real kubectl: `apply --server-side` (the field manager recorded),
 * `wait --for=condition=Ready`, `get pods -w` seeing Pending -> Running -> Terminating, and
 * `kubectl exec` over the v5.channel.k8s.io WebSocket into its real container: the exit code,
 * stdout apart from stderr, stdin to its end, and `exec -it` through a real terminal (script(1))
 * with its size at start and after a resize.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, before, describe, it } from "node:test";
import {
  KUBECTL,
  startEksTestbed,
  until,
  type BerthProcess,
  type EksTestCluster,
} from "../../src/testing/index.js";

let berth: BerthProcess;
let eks: EksTestCluster;
let image: string;

function pod(labels: Record<string, string>) {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "web", labels: { app: "web", ...labels } },
    spec: {
      terminationGracePeriodSeconds: 2,
      containers: [
        {
          name: "main",
          image,
          command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"],
          resources: { requests: { cpu: "250m", memory: "256Mi" } },
        },
      ],
    },
  };
}

const kubeEnv = () => ({ ...berth.awsEnv, KUBECONFIG: eks.kubeconfig });

/** kubectl with its exit code, stdout and stderr (never throws on a failing command). */
function kubectlRun(
  args: string[],
  input?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(KUBECTL, args, { env: kubeEnv() });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.stdin.end(input ?? "");
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

before(async () => {
  ({ berth, eks, image } = await startEksTestbed());
});

after(async () => {
  await berth.stop();
});

describe("a pod's life and kubectl exec", () => {
  let watch: ReturnType<EksTestCluster["spawnKubectl"]>;
  let watched = "";

  it("apply --server-side creates the pod and records kubectl's field manager", async () => {
    watch = eks.spawnKubectl(["get", "pods", "-w"]);
    watch.stdout?.setEncoding("utf8").on("data", (chunk: string) => (watched += chunk));
    const file = eks.manifest("web", pod({}));
    assert.match(
      await eks.kubectl(["apply", "--server-side", "-f", file]),
      /^pod\/web serverside-applied/m,
    );
    const relabelled = eks.manifest("web", pod({ tier: "front" }));
    assert.match(
      await eks.kubectl(["apply", "--server-side", "-f", relabelled]),
      /^pod\/web serverside-applied/m,
    );
    const object = JSON.parse(
      await eks.kubectl(["get", "pod", "web", "-o", "json", "--show-managed-fields"]),
    ) as {
      metadata: {
        labels: Record<string, string>;
        managedFields: { manager: string; operation: string }[];
      };
    };
    assert.equal(object.metadata.labels.tier, "front");
    assert.ok(
      object.metadata.managedFields.some((f) => f.manager === "kubectl" && f.operation === "Apply"),
      JSON.stringify(object.metadata.managedFields),
    );
  });

  it("wait --for=condition=Ready returns once the pod runs", async () => {
    assert.match(
      await eks.kubectl(["wait", "--for=condition=Ready", "pod/web", "--timeout=120s"]),
      /pod\/web condition met/,
    );
  });

  it("exec returns the command's exit code, its stdout and its stderr apart", async () => {
    const result = await kubectlRun([
      "exec",
      "web",
      "--",
      "sh",
      "-c",
      "echo to-out; echo to-err >&2; exit 3",
    ]);
    assert.equal(result.code, 3, result.stderr);
    assert.equal(result.stdout, "to-out\n");
    assert.match(result.stderr, /to-err/);
    const ok = await kubectlRun(["exec", "web", "--", "true"]);
    assert.equal(ok.code, 0, ok.stderr);
  });

  it("exec -i sends stdin to the command, to its end", async () => {
    const result = await kubectlRun(
      ["exec", "-i", "web", "--", "sh", "-c", "wc -l; echo done"],
      "one\ntwo\nthree\n",
    );
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.replace(/ +/g, ""), "3\ndone\n");
  });

  it("exec -it works through a real terminal: input, its size, a resize, the exit code", async () => {
    // In the container: read a line, report the terminal's size at start, then after the
    // client's terminal is resized (the outer shell does it once it sees the first report).
    const inner = [
      'read line; echo "got:$line"',
      'for i in $(seq 300); do s=$(stty size); [ "$s" = "45 123" ] && break; sleep 0.1; done',
      'echo "size1:$s"; touch /size1',
      'for i in $(seq 200); do s=$(stty size); [ "$s" = "20 90" ] && break; sleep 0.1; done',
      'echo "size2:$s"; exit 7',
    ].join("; ");
    const quote = (text: string) => `'${text.replaceAll("'", `'\\''`)}'`;
    const outer = [
      "stty cols 123 rows 45",
      `${KUBECTL} exec -it web -- sh -c ${quote(inner)} < /dev/tty & k=$!`,
      `i=0; until ${KUBECTL} exec web -- sh -c ${quote("test -e /size1")}; do i=$((i+1)); [ $i -gt 60 ] && break; sleep 0.5; done`,
      "stty cols 90 rows 20",
      "wait $k",
    ].join("; ");
    const result = await new Promise<{ code: number; output: string }>((resolve, reject) => {
      const child = spawn(
        "script",
        ["--quiet", "--flush", "--return", "--command", outer, "/dev/null"],
        {
          env: kubeEnv(),
        },
      );
      let output = "";
      child.stdout.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
      child.stderr.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
      child.stdin.write("hello\n");
      child.on("error", reject);
      child.on("close", (code) => resolve({ code: code ?? -1, output }));
    });
    assert.match(result.output, /got:hello\r\n/);
    assert.match(result.output, /size1:45 123\r\n/);
    assert.match(result.output, /size2:20 90\r\n/);
    assert.equal(result.code, 7, result.output);
  });

  it("exec into a missing pod or container fails as Kubernetes fails it", async () => {
    const missing = await kubectlRun(["exec", "nope", "--", "true"]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /pods "nope" not found/);
    const container = await kubectlRun(["exec", "web", "-c", "other", "--", "true"]);
    assert.notEqual(container.code, 0);
    assert.match(container.stderr, /container other is not valid for pod web/);
  });

  it("get pods -w showed Pending, then Running, then Terminating once deleted", async () => {
    assert.match(await eks.kubectl(["delete", "pod", "web", "--timeout=90s"]), /pod "web" deleted/);
    await until(
      "the watch sees Terminating",
      () => Promise.resolve(watched),
      (text) => /^web\s.*Terminating/m.test(text),
      { timeoutMs: 30_000 },
    );
    watch.kill();
    const statuses = watched
      .split("\n")
      .filter((line) => line.startsWith("web "))
      .map((line) => line.split(/\s+/)[2]);
    const first = (status: string) => statuses.indexOf(status);
    // A Pending pod shows as Pending until it is placed, then as its container's waiting
    // reason (ContainerCreating); the watch's first line may come after either.
    const pending = Math.max(first("Pending"), first("ContainerCreating"));
    assert.ok(pending >= 0, watched);
    assert.ok(first("Running") > pending, watched);
    assert.ok(first("Terminating") > first("Running"), watched);
  });
});
