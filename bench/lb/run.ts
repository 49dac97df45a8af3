/**
 * `npm run bench:lb`: requests per second and latency (wrk --latency) of one page served by a
 * service of 3 busybox httpd tasks, measured in one run:
 *   - straight to one task (no proxy: the floor);
 *   - through a Berth listener (the ELB data plane) to the 3 tasks;
 *   - through a hand-configured Debian nginx (started here on a high port, its config, pid and
 *     logs under a temp dir, stopped by PID) in front of the same 3 tasks, once with one worker
 *     (as Berth's proxy is one thread) and once with `worker_processes auto`.
 * Each at high load (64 connections) for throughput and at moderate load (4 connections).
 * Then the proxies alone, in front of keep-alive static backends on loopback instead of the
 * tasks, at 4 connections: the p50 and p99 each proxy adds over going straight to a backend.
 * Prints the tables and the ratios.
 */
import { execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import {
  CreateServiceCommand,
  DeleteServiceCommand,
  ECSClient,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
} from "@aws-sdk/client-ecs";
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateTargetGroupCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  RegisterTargetsCommand,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { pushBusyboxImage, startBerthProcess } from "../../src/testing/index.js";

const run = promisify(execFile);
const DURATION = process.env.BENCH_DURATION ?? "10s";
const HTTPD =
  "mkdir -p /www && echo hello > /www/index.html && exec busybox httpd -f -p 8080 -h /www";

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

interface WrkResult {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

/** wrk's latency figures in milliseconds. */
function millis(text: string): number {
  const match = /([\d.]+)(us|ms|s)/.exec(text);
  if (match === null) return NaN;
  const value = Number(match[1]);
  return match[2] === "us" ? value / 1000 : match[2] === "s" ? value * 1000 : value;
}

async function wrk(url: string, connections: number, host?: string): Promise<WrkResult> {
  const args = ["-t", "2", "-c", String(connections), "-d", DURATION, "--latency", url];
  if (host !== undefined) args.push("-H", `Host: ${host}`);
  const { stdout } = await run("wrk", args);
  const errors = /Non-2xx or 3xx responses: (\d+)/.exec(stdout)?.[1] ?? "0";
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(
    stdout,
  );
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1] ?? NaN),
    p50: millis(/\s50%\s+(\S+)/.exec(stdout)?.[1] ?? ""),
    p99: millis(/\s99%\s+(\S+)/.exec(stdout)?.[1] ?? ""),
    errors: Number(errors) + (socketErrors?.slice(1).reduce((sum, n) => sum + Number(n), 0) ?? 0),
  };
}

/** The http block of an nginx proxying `port` to `targets` with upstream keep-alive. */
function proxyConfig(port: number, targets: string[]): string {
  return `upstream tasks { ${targets.map((t) => `server ${t};`).join(" ")} keepalive 64; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://tasks;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }
  }`;
}

/** A Debian nginx named `name` serving `http`, entirely under `dir`; resolves once it answers. */
async function startNginx(dir: string, name: string, workers: string, http: string, port: number) {
  const config = join(dir, `nginx-${name}.conf`);
  writeFileSync(
    config,
    `worker_processes ${workers};
pid ${join(dir, `nginx-${name}.pid`)};
error_log ${join(dir, "error.log")} warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  ${http}
}
`,
  );
  const child = spawn("nginx", ["-c", config, "-g", "daemon off;"], { stdio: "ignore" });
  for (let i = 0; i < 100; i++) {
    try {
      await run("curl", ["-sf", "-o", "/dev/null", `http://127.0.0.1:${port}/`]);
      return child;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  child.kill("SIGTERM");
  throw new Error(`nginx did not start: ${readFileSync(join(dir, "error.log"), "utf8")}`);
}

/** Waits until `count` targets of the group are healthy; answers them as HOST:PORT. */
async function healthyTargets(
  elb: ElasticLoadBalancingV2Client,
  tgArn: string,
  count: number,
): Promise<string[]> {
  for (;;) {
    const { TargetHealthDescriptions = [] } = await elb.send(
      new DescribeTargetHealthCommand({ TargetGroupArn: tgArn }),
    );
    const healthy = TargetHealthDescriptions.filter((d) => d.TargetHealth?.State === "healthy").map(
      (d) => `${d.Target?.Id ?? ""}:${d.Target?.Port ?? 0}`,
    );
    if (healthy.length === count) return healthy;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** A target group and a listener forwarding to it; answers the group's ARN and the port. */
async function listenerFor(
  elb: ElasticLoadBalancingV2Client,
  loadBalancerArn: string,
  name: string,
): Promise<{ tgArn: string; port: number }> {
  const { TargetGroups } = await elb.send(
    new CreateTargetGroupCommand({
      Name: name,
      Protocol: "HTTP",
      Port: 8080,
      TargetType: "ip",
      HealthCheckIntervalSeconds: 5,
      HealthCheckTimeoutSeconds: 2,
      HealthyThresholdCount: 2,
    }),
  );
  const tgArn = TargetGroups?.[0]?.TargetGroupArn ?? "";
  const port = await freePort();
  await elb.send(
    new CreateListenerCommand({
      Protocol: "HTTP",
      LoadBalancerArn: loadBalancerArn,
      Port: port,
      DefaultActions: [{ Type: "forward", TargetGroupArn: tgArn }],
    }),
  );
  return { tgArn, port };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "berth-bench-lb-"));
  const berth = await startBerthProcess();
  const ecs = new ECSClient(berth.clientConfig);
  const elb = new ElasticLoadBalancingV2Client(berth.clientConfig);
  const nginxes: ReturnType<typeof spawn>[] = [];
  try {
    const image = (await pushBusyboxImage(berth, "busybox")).uri;
    const { LoadBalancers } = await elb.send(new CreateLoadBalancerCommand({ Name: "bench" }));
    const dnsName = LoadBalancers?.[0]?.DNSName ?? "";
    const lbArn = LoadBalancers?.[0]?.LoadBalancerArn ?? "";
    const { tgArn, port: listenerPort } = await listenerFor(elb, lbArn, "bench");
    const { taskDefinition } = await ecs.send(
      new RegisterTaskDefinitionCommand({
        family: "bench",
        requiresCompatibilities: ["FARGATE"],
        networkMode: "awsvpc",
        cpu: "256",
        memory: "512",
        containerDefinitions: [
          {
            name: "web",
            image,
            command: ["sh", "-c", HTTPD],
            stopTimeout: 2,
            portMappings: [{ containerPort: 8080 }],
          },
        ],
      }),
    );
    await ecs.send(
      new CreateServiceCommand({
        serviceName: "bench",
        taskDefinition: taskDefinition?.taskDefinitionArn,
        desiredCount: 3,
        loadBalancers: [{ targetGroupArn: tgArn, containerName: "web", containerPort: 8080 }],
      }),
    );
    const targets = await healthyTargets(elb, tgArn, 3);
    const nginxPorts = { one: await freePort(), auto: await freePort() };
    nginxes.push(
      await startNginx(dir, "one", "1", proxyConfig(nginxPorts.one, targets), nginxPorts.one),
    );
    nginxes.push(
      await startNginx(dir, "auto", "auto", proxyConfig(nginxPorts.auto, targets), nginxPorts.auto),
    );

    const paths = {
      "direct to one task": { url: `http://${targets[0] ?? ""}/`, host: undefined },
      "Berth listener -> 3 tasks": { url: `http://127.0.0.1:${listenerPort}/`, host: dnsName },
      "nginx (1 worker) -> 3 tasks": {
        url: `http://127.0.0.1:${nginxPorts.one}/`,
        host: undefined,
      },
      "nginx (auto workers) -> 3 tasks": {
        url: `http://127.0.0.1:${nginxPorts.auto}/`,
        host: undefined,
      },
    };
    const results: Record<string, { high: WrkResult; moderate: WrkResult }> = {};
    for (const [name, { url, host }] of Object.entries(paths)) {
      await wrk(url, 8, host); // warm-up
      results[name] = { high: await wrk(url, 64, host), moderate: await wrk(url, 4, host) };
    }
    const rows = Object.entries(results).map(
      ([name, { high, moderate }]) =>
        `| ${name} | ${high.rps.toFixed(0)} | ${high.p99.toFixed(2)} | ${moderate.rps.toFixed(0)} | ${moderate.p50.toFixed(2)} | ${moderate.p99.toFixed(2)} | ${high.errors + moderate.errors} |`,
    );
    process.stdout.write(
      `wrk -t2 --latency, ${DURATION} each, one page from busybox httpd tasks\n\n` +
        "| path | req/s (64 conns) | p99 ms (64) | req/s (4 conns) | p50 ms (4) | p99 ms (4) | errors |\n" +
        "| --- | --- | --- | --- | --- | --- | --- |\n" +
        rows.join("\n") +
        "\n\n",
    );
    // The proxies alone: three keep-alive static backends (an nginx answering from memory on
    // loopback) instead of the tasks, so the latency each proxy adds can be read off.
    const staticPorts = [await freePort(), await freePort(), await freePort()];
    nginxes.push(
      await startNginx(
        dir,
        "static",
        "1",
        `server { ${staticPorts.map((p) => `listen 127.0.0.1:${p};`).join(" ")} location / { return 200 "hello\\n"; } }`,
        staticPorts[0] ?? 0,
      ),
    );
    const statics = staticPorts.map((p) => `127.0.0.1:${p}`);
    const bare = await listenerFor(elb, lbArn, "bench-static");
    await elb.send(
      new RegisterTargetsCommand({
        TargetGroupArn: bare.tgArn,
        Targets: staticPorts.map((p) => ({ Id: "127.0.0.1", Port: p })),
      }),
    );
    await healthyTargets(elb, bare.tgArn, 3);
    const nginxStatic = await freePort();
    nginxes.push(
      await startNginx(dir, "proxy-static", "1", proxyConfig(nginxStatic, statics), nginxStatic),
    );
    const added: Record<string, WrkResult> = {};
    for (const [name, url, host] of [
      ["direct to a static backend", `http://${statics[0] ?? ""}/`, undefined],
      ["Berth listener -> 3 static backends", `http://127.0.0.1:${bare.port}/`, dnsName],
      ["nginx (1 worker) -> 3 static backends", `http://127.0.0.1:${nginxStatic}/`, undefined],
    ] as const) {
      await wrk(url, 4, host);
      added[name] = await wrk(url, 4, host);
    }
    process.stdout.write(
      "| path, 4 conns | req/s | p50 ms | p99 ms |\n| --- | --- | --- | --- |\n" +
        Object.entries(added)
          .map(
            ([name, r]) =>
              `| ${name} | ${r.rps.toFixed(0)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} |`,
          )
          .join("\n") +
        "\n\n",
    );
    const floor = added["direct to a static backend"];
    for (const peer of [
      "Berth listener -> 3 static backends",
      "nginx (1 worker) -> 3 static backends",
    ]) {
      const r = added[peer];
      if (floor !== undefined && r !== undefined)
        process.stdout.write(
          `p99 added by ${peer.split(" ->")[0] ?? peer} at 4 connections: ${(r.p99 - floor.p99).toFixed(2)} ms (target < 2 ms for Berth)\n`,
        );
    }
    const berthR = results["Berth listener -> 3 tasks"];
    for (const peer of ["nginx (1 worker) -> 3 tasks", "nginx (auto workers) -> 3 tasks"]) {
      const nginx = results[peer];
      if (berthR !== undefined && nginx !== undefined)
        process.stdout.write(
          `Berth / ${peer}: ${(berthR.high.rps / nginx.high.rps).toFixed(2)}x throughput (target >= 0.80)\n`,
        );
    }
  } finally {
    for (const nginx of nginxes) nginx.kill("SIGTERM");
    await ecs
      .send(new DeleteServiceCommand({ service: "bench", force: true }))
      .catch(() => undefined);
    for (let i = 0; i < 150; i++) {
      const { taskArns = [] } = await ecs.send(new ListTasksCommand({ serviceName: "bench" }));
      if (taskArns.length === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    ecs.destroy();
    elb.destroy();
    await berth.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
