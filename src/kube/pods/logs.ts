/**
 * `GET .../pods/NAME/log`: a container's output, read from the pod's task on its host (the path
 * `berth logs` takes), as the kubelet serves it: plain text, `follow` streaming until the
 * container ends or the client goes, `tailLines`, `sinceSeconds` / `sinceTime`, `timestamps`
 * and `limitBytes`. A pod with several containers needs `container`, as on Kubernetes.
 */
import type { KubeRequest } from "../api-server.js";
import type { KubeObject, KubeObjects } from "../objects.js";
import type { Target } from "../rest.js";
import { badRequest, KubeError, methodNotAllowed } from "../status.js";
import { podSpec } from "./fargate.js";
import { PODS, TASK_ANNOTATION } from "./controller.js";
import type { PodTaskPort } from "./port.js";

type Line = { time: string; text: string };

/** Which container a log request names; a Kubernetes-shaped 400 when it cannot tell. */
export function logContainer(pod: KubeObject, asked: string | null): string {
  const spec = podSpec(pod);
  const name = pod.metadata.name ?? "";
  const app = spec.containers.map((c) => c.name);
  const init = (spec.initContainers ?? []).map((c) => c.name);
  if (asked === null || asked === "") {
    if (app.length === 1 && app[0] !== undefined) return app[0];
    throw badRequest(
      `a container name must be specified for pod ${name}, choose one of: [${app.join(" ")}]${
        init.length > 0 ? ` or one of the init containers: [${init.join(" ")}]` : ""
      }`,
    );
  }
  if (!app.includes(asked) && !init.includes(asked))
    throw badRequest(`container ${asked} is not valid for pod ${name}`);
  return asked;
}

/** Reads every line there is now (no follow). */
function readAll(port: PodTaskPort, taskArn: string, container: string): Promise<Line[]> {
  return new Promise((resolve, reject) => {
    const lines: Line[] = [];
    port
      .logs(taskArn, { container, follow: false }, (batch, done, error) => {
        lines.push(...batch);
        if (!done) return;
        if (error === undefined) resolve(lines);
        else reject(new KubeError("InternalError", error, 500));
      })
      .then((opened) => {
        if (opened === undefined || opened === "not-found")
          reject(new KubeError("InternalError", "the pod's Fargate host is not connected", 500));
      }, reject);
  });
}

export async function servePodLog(
  request: KubeRequest,
  target: Target,
  objects: KubeObjects,
  port: PodTaskPort,
): Promise<void> {
  const { req, res, cluster, query } = request;
  if (req.method !== "GET") throw methodNotAllowed();
  const pod = await objects.get(cluster, PODS, target.namespace ?? "default", target.name ?? "");
  const container = logContainer(pod, query.get("container"));
  if (query.get("previous") === "true")
    throw badRequest(
      `previous terminated container "${container}" in pod "${pod.metadata.name ?? ""}" not found`,
    );
  const taskArn = pod.metadata.annotations?.[TASK_ANNOTATION];
  if (taskArn === undefined)
    throw badRequest(
      `container "${container}" in pod "${pod.metadata.name ?? ""}" is waiting to start: ContainerCreating`,
    );
  const follow = query.get("follow") === "true";
  const timestamps = query.get("timestamps") === "true";
  const tail = numberParam(query.get("tailLines"), "tailLines");
  const limit = numberParam(query.get("limitBytes"), "limitBytes");
  const sinceSeconds = numberParam(query.get("sinceSeconds"), "sinceSeconds");
  const sinceTime = query.get("sinceTime");
  const since =
    sinceSeconds !== undefined
      ? Date.now() - sinceSeconds * 1000
      : sinceTime !== null
        ? Date.parse(sinceTime)
        : undefined;
  // With tailLines, the lines before the last N are skipped (a follow reads them again).
  let skip = 0;
  if (tail !== undefined) {
    const all = (await readAll(port, taskArn, container)).filter(
      (l) => since === undefined || Date.parse(l.time) >= since,
    );
    skip = Math.max(0, all.length - tail);
  }
  let written = 0;
  const render = (batch: Line[]): string => {
    let text = "";
    for (const line of batch) {
      if (since !== undefined && Date.parse(line.time) < since) continue;
      if (skip > 0) {
        skip--;
        continue;
      }
      text += timestamps ? `${line.time} ${line.text}\n` : `${line.text}\n`;
    }
    if (limit !== undefined) text = text.slice(0, Math.max(0, limit - written));
    written += Buffer.byteLength(text);
    return text;
  };
  await new Promise<void>((resolve, reject) => {
    let cancel: (() => void) | undefined;
    const finish = () => {
      cancel?.();
      if (!res.writableEnded) res.end();
      resolve();
    };
    port
      .logs(taskArn, { container, follow }, (batch, done) => {
        if (res.writableEnded) return;
        const text = render(batch);
        if (text !== "") res.write(text);
        if (done || (limit !== undefined && written >= limit)) finish();
      })
      .then((opened) => {
        if (opened === "not-found" || opened === undefined) {
          reject(new KubeError("InternalError", "the pod's Fargate host is not connected", 500));
          return;
        }
        cancel = opened;
        res.writeHead(200, {
          "Content-Type": "text/plain",
          "Transfer-Encoding": "chunked",
          "Cache-Control": "no-cache, private",
        });
        // `logs -f` of a quiet container must see the headers at once.
        res.flushHeaders();
        res.once("close", finish);
      }, reject);
  });
}

function numberParam(value: string | null, name: string): number | undefined {
  if (value === null || value === "") return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw badRequest(`${name}: Invalid value: "${value}"`);
  return n;
}
