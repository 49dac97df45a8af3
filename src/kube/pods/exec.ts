/**
 * `kubectl exec`: the upgrade of `.../pods/NAME/exec?command=..&container=..&stdin=..&tty=..`
 * to a WebSocket speaking the remote command protocol (exec-protocol.ts), bridged to an exec
 * session in the pod's task on its host — the path `berth exec` takes over the agent channel.
 * What makes exec impossible is answered as a Status before the upgrade.
 */
import type { IncomingMessage } from "node:http";
import { WebSocketServer, type RawData, type WebSocket } from "ws";
import type { KubeRequest, KubeUpgradeRoute } from "../api-server.js";
import { refuseUpgrade } from "../http.js";
import type { KubeObjects } from "../objects.js";
import { parseTarget } from "../rest.js";
import { badRequest } from "../status.js";
import { PODS, TASK_ANNOTATION } from "./controller.js";
import {
  chooseProtocol,
  exitStatus,
  outputFrame,
  parseClientFrame,
  STDERR,
  STDOUT,
  type ExecProtocol,
} from "./exec-protocol.js";
import { logContainer } from "./logs.js";
import type { PodExecSession, PodTaskPort } from "./port.js";

/** How long a terminal session waits for kubectl's first size before it starts at 80x24. */
const FIRST_SIZE_WAIT_MS = 1000;

interface ExecPlan {
  protocol: ExecProtocol;
  taskArn: string;
  container: string;
  command: string[];
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

export function podExecRoute(
  objects: KubeObjects,
  port: PodTaskPort,
): {
  route: KubeUpgradeRoute;
  close(): void;
} {
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: 1024 * 1024,
    handleProtocols: (offered) => chooseProtocol([...offered].join(",")) ?? false,
  });
  const route: KubeUpgradeRoute = (request, socket, head) => {
    const target = parseTarget(request.path);
    if (typeof target !== "object" || target.type !== PODS || target.subresource !== "exec")
      return false;
    plan(request, objects, target.namespace ?? "default", target.name ?? "").then(
      (planned) => wss.handleUpgrade(request.req, socket, head, (ws) => bridge(ws, planned, port)),
      (error: unknown) => refuseUpgrade(socket, error),
    );
    return true;
  };
  return {
    route,
    close: () => {
      for (const ws of wss.clients) ws.terminate();
      wss.close();
    },
  };
}

async function plan(
  { req, cluster, query }: Omit<KubeRequest, "res">,
  objects: KubeObjects,
  namespace: string,
  name: string,
): Promise<ExecPlan> {
  const flag = (key: string) => ["true", "1"].includes(query.get(key) ?? "");
  const command = query.getAll("command");
  const pod = await objects.get(cluster, PODS, namespace, name);
  const container = logContainer(pod, query.get("container"));
  if (command.length === 0) throw badRequest("you must specify at least 1 command");
  if (!flag("stdin") && !flag("stdout") && !flag("stderr"))
    throw badRequest("you must specify at least 1 of stdin, stdout, stderr");
  const phase = (pod.status as { phase?: string } | undefined)?.phase;
  if (phase === "Succeeded" || phase === "Failed")
    throw badRequest(`cannot exec into a container in a completed pod; current phase is ${phase}`);
  const taskArn = pod.metadata.annotations?.[TASK_ANNOTATION];
  if (taskArn === undefined) throw badRequest(`pod ${name} does not have a host assigned`);
  const protocol = chooseProtocol(header(req, "sec-websocket-protocol"));
  // Kubernetes also serves exec over SPDY/3.1 (kubectl's fallback, and its only way before
  // 1.30); Berth serves the WebSocket protocols alone.
  if (header(req, "upgrade")?.toLowerCase() !== "websocket" || protocol === undefined)
    throw badRequest(
      "Berth serves exec over a WebSocket with the subprotocol v5.channel.k8s.io or v4.channel.k8s.io (kubectl 1.30 or later)",
    );
  return {
    protocol,
    taskArn,
    container,
    command,
    stdin: flag("stdin"),
    stdout: flag("stdout"),
    stderr: flag("stderr"),
    tty: flag("tty"),
  };
}

function bridge(ws: WebSocket, plan: ExecPlan, port: PodTaskPort): void {
  let session: PodExecSession | undefined;
  let starting = false;
  let closed = false;
  const early: Buffer[] = [];
  let stdinEnded = false;
  let size: { cols: number; rows: number } | undefined;
  const send = (frame: Buffer) => {
    if (ws.readyState === ws.OPEN) ws.send(frame);
  };
  const finish = (exitCode: number | undefined, error?: string) => {
    send(exitStatus(plan.command, exitCode, error));
    if (ws.readyState === ws.OPEN) ws.close(1000);
  };
  const start = () => {
    if (starting || closed) return;
    starting = true;
    clearTimeout(waiting);
    port
      .exec(
        plan.taskArn,
        {
          container: plan.container,
          command: plan.command,
          tty: plan.tty,
          ...(size === undefined ? {} : size),
        },
        {
          output: (stream, data) => {
            if (stream === "stdout" ? plan.stdout : plan.stderr)
              send(outputFrame(stream === "stdout" ? STDOUT : STDERR, data));
          },
          exit: finish,
        },
      )
      .then(
        (opened) => {
          if (opened === "not-found") return finish(undefined, "the pod's task was not found");
          if (opened === undefined)
            return finish(undefined, "the pod's Fargate host is not connected");
          session = opened;
          if (closed) return opened.cancel();
          for (const data of early.splice(0)) opened.input(data);
          // Without stdin the command reads nothing; on a terminal it just stays idle.
          if (stdinEnded || (!plan.stdin && !plan.tty)) opened.input(Buffer.alloc(0), true);
        },
        (error: unknown) => finish(undefined, (error as Error).message),
      );
  };
  // On a terminal, kubectl sends its size first: the command starts at that size.
  const waiting = setTimeout(start, plan.tty ? FIRST_SIZE_WAIT_MS : 0);
  ws.on("message", (data: RawData, isBinary) => {
    if (!isBinary) return;
    const frame = parseClientFrame(
      plan.protocol,
      Buffer.isBuffer(data) ? data : Buffer.concat(data as Buffer[]),
    );
    if (frame === undefined) return;
    if (frame.type === "resize") {
      if (session !== undefined) session.resize(frame.cols, frame.rows);
      else {
        size = { cols: frame.cols, rows: frame.rows };
        start();
      }
    } else if (frame.type === "stdin") {
      if (session !== undefined) session.input(frame.data);
      else early.push(frame.data);
    } else if (session !== undefined) session.input(Buffer.alloc(0), true);
    else stdinEnded = true;
  });
  ws.on("close", () => {
    closed = true;
    clearTimeout(waiting);
    session?.cancel();
  });
  ws.on("error", () => undefined);
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(",") : value;
}
