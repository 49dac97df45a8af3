/**
 * `npm run bench:network`: a cluster's task network across hosts against the same on one host,
 * with the host's own veth as the peer. Two test hosts (network namespaces on a datacenter
 * bridge, src/testing/test-hosts.ts) run one cluster's tasks; iperf3 (Debian's) runs inside the
 * tasks' network namespaces (entered from their host with nsenter, so the images need no
 * tools) and measures TCP throughput task -> task on one host, task -> task across the two
 * (through the cluster's VXLAN), and host -> datacenter gateway over the host's own veth.
 * Latency: the p50 of ping round trips over each path. Then the cost of a launch on a host
 * that first joins a cluster network: RunTask -> RUNNING for a host's first task of a new
 * cluster against its later ones.
 *
 * Targets (issue 15): across hosts >= 70% of same-host throughput; added p50 latency < 0.2 ms.
 * BENCH_NETWORK_SECONDS sets each iperf3 run's length (default 5).
 */
import { randomInt } from "node:crypto";
import { performance } from "node:perf_hooks";
import { runCommand } from "../../src/agent/index.js";
import {
  CreateClusterCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  StopTaskCommand,
  type Task,
} from "@aws-sdk/client-ecs";
import {
  Datacenter,
  pushBusyboxImage,
  startBerthProcess,
  type BerthProcess,
  type TestHost,
} from "../../src/testing/index.js";
import { waitForTask } from "../../src/testing/ecs.js";
import { findTaskNetns, type TaskPlace } from "../../src/testing/test-hosts.js";

const SECONDS = Number(process.env.BENCH_NETWORK_SECONDS ?? 5);
const PINGS = 40;

function addressOf(task: Task): string {
  const detail = task.attachments?.[0]?.details?.find((d) => d.name === "privateIPv4Address");
  if (detail?.value === undefined) throw new Error(`task ${task.taskArn ?? ""} has no address`);
  return detail.value;
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
};

/** Runs `command` inside `place`'s network namespace (on its host). */
async function inTask(place: TaskPlace, command: string[]): Promise<string> {
  const out = await place.host.exec("nsenter", [`--net=${place.netns}`, ...command]);
  if (out.code !== 0) throw new Error(`${command.join(" ")}: ${out.stderr}`);
  return out.stdout;
}

/** Gbit/s from `client` to an iperf3 server started (for one test) in `server`. */
async function throughput(
  server: (args: string[]) => Promise<string>,
  client: (args: string[]) => Promise<string>,
  address: string,
): Promise<number> {
  // -1: the server ends after one test; -D: it runs detached, so this call returns; it also
  // ends after 30 s without a client, should the client fail.
  await server(["iperf3", "-s", "-1", "-D", "--idle-timeout", "30", "-B", address, "-p", "5201"]);
  await new Promise((resolve) => setTimeout(resolve, 300));
  const json = JSON.parse(
    await client(["iperf3", "-c", address, "-p", "5201", "-t", String(SECONDS), "-J"]),
  ) as { end?: { sum_received?: { bits_per_second?: number } } };
  return (json.end?.sum_received?.bits_per_second ?? NaN) / 1e9;
}

/** p50 of `PINGS` round trips, in ms. */
async function latency(run: (args: string[]) => Promise<string>, address: string): Promise<number> {
  const out = await run(["busybox", "ping", "-c", String(PINGS), "-A", address]);
  const times = [...out.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]));
  return median(times.slice(1)); // the first pays for ARP
}

async function main(): Promise<void> {
  const dc = await Datacenter.create();
  let berth: BerthProcess | undefined;
  const hosts: TestHost[] = [];
  try {
    berth = await startBerthProcess({
      // A /16 of its own, away from the blocks tests cut from the start of 100.64.0.0/10 and
      // from cluster-network's 100.80-119 and the datacenter's 100.127.
      args: [
        "--no-local-agent",
        "--host",
        dc.gateway,
        "--task-cidr",
        `100.${120 + randomInt(7)}.0.0/16`,
      ],
    });
    const join = { ...berth.join, token: berth.joinToken };
    for (const az of ["us-east-1a", "us-east-1b"])
      hosts.push(await dc.addHost(join, { cpu: 4096, memory: 8192, availabilityZone: az }));
    const ecs = new ECSClient(berth.clientConfig);
    const image = (await pushBusyboxImage(berth, "busybox")).uri;
    await ecs.send(
      new RegisterTaskDefinitionCommand({
        family: "idle",
        requiresCompatibilities: ["FARGATE"],
        networkMode: "awsvpc",
        cpu: "512",
        memory: "1024",
        containerDefinitions: [
          { name: "app", image, command: ["sleep", "3600"], essential: true, stopTimeout: 1 },
        ],
      }),
    );
    const run = async (cluster: string): Promise<{ task: Task; ms: number }> => {
      const started = performance.now();
      const out = await ecs.send(
        new RunTaskCommand({ cluster, taskDefinition: "idle", launchType: "FARGATE" }),
      );
      const arn = out.tasks?.[0]?.taskArn;
      if (arn === undefined) throw new Error(`RunTask: ${JSON.stringify(out.failures)}`);
      const task = await waitForTask(ecs, arn, "RUNNING", { everyMs: 20 });
      return { task, ms: performance.now() - started };
    };

    // Tasks until one host holds two of them and the other one.
    await ecs.send(new CreateClusterCommand({ clusterName: "net" }));
    const places: Array<{ task: Task; place: TaskPlace }> = [];
    for (let i = 0; i < 6; i++) {
      const { task } = await run("net");
      places.push({ task, place: await findTaskNetns(hosts, addressOf(task)) });
      const on = (host: TestHost) => places.filter((p) => p.place.host === host);
      if (hosts.every((h) => on(h).length >= 1) && hosts.some((h) => on(h).length >= 2)) break;
    }
    const pairHost = hosts.find((h) => places.filter((p) => p.place.host === h).length >= 2);
    const other = hosts.find((h) => h !== pairHost);
    const [a, b] = places.filter((p) => p.place.host === pairHost);
    const c = places.find((p) => p.place.host === other);
    if (a === undefined || b === undefined || c === undefined)
      throw new Error("placement never put two tasks on one host and one on the other");
    const addressA = addressOf(a.task);

    const same = await throughput(
      (args) => inTask(a.place, args),
      (args) => inTask(b.place, args),
      addressA,
    );
    const across = await throughput(
      (args) => inTask(a.place, args),
      (args) => inTask(c.place, args),
      addressA,
    );
    // The peer: the host's own link, host namespace -> the datacenter gateway.
    const host = c.place.host;
    const onGateway = async (args: string[]): Promise<string> =>
      (await runCommand(args[0] ?? "", args.slice(1))).stdout;
    const onHost = async (args: string[]): Promise<string> => {
      const out = await host.exec(args[0] ?? "", args.slice(1));
      if (out.code !== 0) throw new Error(`${args.join(" ")}: ${out.stderr}`);
      return out.stdout;
    };
    const veth = await throughput(onGateway, onHost, dc.gateway);
    const pingSame = await latency((args) => inTask(b.place, args), addressA);
    const pingAcross = await latency((args) => inTask(c.place, args), addressA);
    const pingVeth = await latency(onHost, dc.gateway);

    // A launch on a host that first joins a cluster's network, against its later launches.
    await ecs.send(new CreateClusterCommand({ clusterName: "fresh" }));
    const joining: number[] = [];
    const joined: number[] = [];
    const seen = new Set<TestHost>();
    const fresh: Task[] = [];
    for (let i = 0; i < 6; i++) {
      const { task, ms } = await run("fresh");
      fresh.push(task);
      const { host: on } = await findTaskNetns(hosts, addressOf(task));
      (seen.has(on) ? joined : joining).push(ms);
      seen.add(on);
    }
    for (const task of [...places.map((p) => p.task), ...fresh])
      await ecs.send(new StopTaskCommand({ cluster: task.clusterArn, task: task.taskArn }));
    ecs.destroy();

    const ratio = across / same;
    const added = pingAcross - pingSame;
    console.log(`bench:network: iperf3 ${SECONDS} s per path, ${PINGS} pings; two test hosts`);
    console.log(
      `throughput  same host ${same.toFixed(2)} Gbit/s  across hosts ${across.toFixed(2)} Gbit/s  ` +
        `host's own veth ${veth.toFixed(2)} Gbit/s`,
    );
    console.log(
      `  across / same host ${(ratio * 100).toFixed(0)}% (target >= 70%: ${ratio >= 0.7 ? "met" : "missed"}); ` +
        `across / host veth ${((across / veth) * 100).toFixed(0)}%`,
    );
    console.log(
      `latency p50 same host ${pingSame.toFixed(3)} ms  across ${pingAcross.toFixed(3)} ms  ` +
        `host veth ${pingVeth.toFixed(3)} ms; added across hosts ${added.toFixed(3)} ms ` +
        `(target < 0.2 ms: ${added < 0.2 ? "met" : "missed"})`,
    );
    console.log(
      `launch RunTask -> RUNNING p50: a host's first task of a cluster ${median(joining).toFixed(0)} ms ` +
        `(${joining.length}), later ones ${median(joined).toFixed(0)} ms (${joined.length}); ` +
        `joining costs ${(median(joining) / median(joined)).toFixed(2)}x`,
    );
  } finally {
    await dc.close();
    await berth?.stop();
  }
}

await main();
