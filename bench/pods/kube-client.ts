/**
 * The bench's own view of the cluster: an EKS token made in-process (what `aws eks get-token`
 * prints, without starting the Python AWS CLI), a kubeconfig that carries it, and a pod watch
 * that stamps each event as it arrives, so the bench can say where a pod's time goes.
 */
import { writeFileSync } from "node:fs";
import { request } from "node:https";
import { Hash } from "@smithy/hash-node";
import { HttpRequest } from "@smithy/protocol-http";
import { SignatureV4 } from "@smithy/signature-v4";

export interface ClusterAccess {
  endpoint: string;
  /** The cluster CA, base64 (DescribeCluster's certificateAuthority.data). */
  ca: string;
  name: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
}

/** `aws eks get-token`'s token: k8s-aws-v1. + a presigned STS GetCallerIdentity URL. */
export async function eksToken(access: ClusterAccess): Promise<string> {
  const signer = new SignatureV4({
    credentials: access.credentials,
    region: "us-east-1",
    service: "sts",
    sha256: Hash.bind(null, "sha256"),
  });
  const presigned = await signer.presign(
    new HttpRequest({
      method: "GET",
      protocol: "https:",
      hostname: "sts.us-east-1.amazonaws.com",
      path: "/",
      query: { Action: "GetCallerIdentity", Version: "2011-06-15" },
      headers: { host: "sts.us-east-1.amazonaws.com", "x-k8s-aws-id": access.name },
    }),
    { expiresIn: 60 },
  );
  const query = new URLSearchParams(presigned.query as Record<string, string>).toString();
  return `k8s-aws-v1.${Buffer.from(`https://sts.us-east-1.amazonaws.com/?${query}`).toString("base64url")}`;
}

/**
 * A kubeconfig with a token in it (no exec plugin). EKS takes a token for 15 minutes: the
 * bench writes a fresh one every few minutes.
 */
export async function writeTokenKubeconfig(path: string, access: ClusterAccess): Promise<void> {
  const token = await eksToken(access);
  writeFileSync(
    path,
    JSON.stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [
        {
          name: access.name,
          cluster: { server: access.endpoint, "certificate-authority-data": access.ca },
        },
      ],
      users: [{ name: "bench", user: { token } }],
      contexts: [{ name: access.name, context: { cluster: access.name, user: "bench" } }],
      "current-context": access.name,
    }),
  );
}

interface PodEvent {
  type: string;
  object: {
    metadata: { name?: string; annotations?: Record<string, string>; resourceVersion?: string };
    status?: { conditions?: { type: string; status: string }[] };
  };
}

/** When the watch first saw each pod created, given a task, and Ready (Date.now() ms). */
export interface PodMarks {
  added?: number;
  task?: number;
  taskArn?: string;
  ready?: number;
}

/** Watches the default namespace's pods until closed, resuming after the last version seen. */
export function watchPods(
  access: ClusterAccess,
  taskAnnotation: string,
): { marks: Map<string, PodMarks>; close(): void } {
  const marks = new Map<string, PodMarks>();
  let closed = false;
  let lastVersion = "";
  let current: ReturnType<typeof request> | undefined;
  const onEvent = (event: PodEvent, at: number) => {
    // A watch too far behind (410) starts over from the current state.
    if (event.type === "ERROR") {
      lastVersion = "";
      return;
    }
    const meta = event.object.metadata;
    if (meta.resourceVersion !== undefined) lastVersion = meta.resourceVersion;
    const name = meta.name;
    if (name === undefined || event.type === "DELETED") return;
    const mark = marks.get(name) ?? {};
    marks.set(name, mark);
    mark.added ??= at;
    const taskArn = meta.annotations?.[taskAnnotation];
    if (taskArn !== undefined && mark.task === undefined) {
      mark.task = at;
      mark.taskArn = taskArn;
    }
    const ready = event.object.status?.conditions?.some(
      (c) => c.type === "Ready" && c.status === "True",
    );
    if (ready === true) mark.ready ??= at;
  };
  const open = async () => {
    if (closed) return;
    const token = await eksToken(access);
    const url = new URL(
      `${access.endpoint}/api/v1/namespaces/default/pods?watch=1&resourceVersion=${lastVersion}`,
    );
    current = request(
      url,
      { ca: Buffer.from(access.ca, "base64"), headers: { Authorization: `Bearer ${token}` } },
      (res) => {
        let buffered = "";
        res.on("data", (chunk: Buffer) => {
          const at = Date.now();
          buffered += chunk.toString();
          let newline: number;
          while ((newline = buffered.indexOf("\n")) >= 0) {
            const line = buffered.slice(0, newline);
            buffered = buffered.slice(newline + 1);
            if (line.trim() !== "") onEvent(JSON.parse(line) as PodEvent, at);
          }
        });
        res.on("end", () => void open());
      },
    );
    current.on("error", () => {
      if (!closed) setTimeout(() => void open(), 100);
    });
    current.end();
  };
  void open();
  return {
    marks,
    close() {
      closed = true;
      current?.destroy();
    },
  };
}
