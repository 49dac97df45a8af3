/**
 * Three test hosts on a datacenter bridge, one per Availability Zone (so a task's zone names its
 * host), joined to a server that alone hands out task addresses (`--task-cidr` on berth up), with
 * busybox in its registry: the fixture of the tests of a cluster's network across hosts.
 */
import assert from "node:assert/strict";
import { randomInt } from "node:crypto";
import {
  DescribeTasksCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  StopTaskCommand,
  type Task,
} from "@aws-sdk/client-ecs";
import {
  Datacenter,
  pushBusyboxImage,
  recentWarnings,
  startBerthProcess,
  until,
  type BerthProcess,
  type TestHost,
} from "../../src/testing/index.js";

export const ZONES = ["us-east-1a", "us-east-1b", "us-east-1c"];

export class ThreeHosts {
  private constructor(
    readonly dc: Datacenter,
    public berth: BerthProcess,
    public ecs: ECSClient,
    readonly hosts: TestHost[],
    readonly image: string,
  ) {}

  /** Each host offers 4 vCPU and 8 GiB; the server forgets a host after 15 s of silence. */
  static async start(): Promise<ThreeHosts> {
    const dc = await Datacenter.create();
    // A /16 of its own inside 100.64.0.0/10, away from the datacenter's 100.127/16.
    const taskCidr = `100.${80 + randomInt(40)}.0.0/16`;
    const args = ["--no-local-agent", "--host", dc.gateway, "--task-cidr", taskCidr];
    // restart() keeps the data dir across a restart; stop() at the end removes it, and with it
    // go the address claims its blocks hold on this machine.
    const berth = await startBerthProcess({ args: [...args, "--host-timeout-seconds", "15"] });
    const join = { ...berth.join, token: berth.joinToken };
    const hosts: TestHost[] = [];
    for (const availabilityZone of ZONES)
      hosts.push(await dc.addHost(join, { cpu: 4096, memory: 8192, availabilityZone }));
    const image = (await pushBusyboxImage(berth, "busybox")).uri;
    return new ThreeHosts(dc, berth, new ECSClient(berth.clientConfig), hosts, image);
  }

  async close(): Promise<void> {
    this.ecs.destroy();
    await this.dc.close();
    await this.berth.stop();
  }

  /** Restarts the server on its data dir (the hosts stay) and points the client at it. */
  async restartServer(): Promise<void> {
    this.berth = await this.berth.restart();
    this.ecs.destroy();
    this.ecs = new ECSClient(this.berth.clientConfig);
  }

  /** A one-container FARGATE family running `command` in busybox, port 8080 declared. */
  async register(family: string, command: string, cpu = "1024"): Promise<string> {
    const { taskDefinition } = await this.ecs.send(
      new RegisterTaskDefinitionCommand({
        family,
        requiresCompatibilities: ["FARGATE"],
        networkMode: "awsvpc",
        cpu,
        memory: String(Number(cpu) * 2),
        containerDefinitions: [
          {
            name: "web",
            image: this.image,
            essential: true,
            stopTimeout: 1,
            command: ["sh", "-c", command],
            portMappings: [{ containerPort: 8080 }],
          },
        ],
      }),
    );
    return taskDefinition?.taskDefinitionArn ?? "";
  }

  async runTasks(cluster: string, definition: string, count: number): Promise<Task[]> {
    const { tasks = [], failures = [] } = await this.ecs.send(
      new RunTaskCommand({ cluster, taskDefinition: definition, count }),
    );
    assert.deepEqual(failures, []);
    return this.waitTasks(cluster, tasks, "RUNNING");
  }

  /** Polls the tasks of `cluster` until all have `status`; one stopping early fails the wait. */
  async waitTasks(cluster: string, tasks: Task[], status: string): Promise<Task[]> {
    return until(
      `${tasks.length} tasks of ${cluster} ${status}`,
      async () =>
        (
          await this.ecs.send(
            new DescribeTasksCommand({ cluster, tasks: tasks.map((t) => t.taskArn ?? "") }),
          )
        ).tasks ?? [],
      (found) => {
        const early = found.find((t) => t.lastStatus === "STOPPED" && status !== "STOPPED");
        if (early !== undefined)
          throw new Error(`a task stopped: ${early.stopCode ?? ""} ${early.stoppedReason ?? ""}`);
        return found.length === tasks.length && found.every((t) => t.lastStatus === status);
      },
      { timeoutMs: 180_000, context: () => recentWarnings(this.berth.output()) },
    );
  }

  async stopAll(cluster: string, tasks: Task[]): Promise<void> {
    for (const task of tasks)
      await this.ecs.send(
        new StopTaskCommand({ cluster, task: task.taskArn, reason: "test done" }),
      );
    await this.waitTasks(cluster, tasks, "STOPPED");
  }
}

/** The task's address, from its ENI attachment. */
export function addressOf(task: Task): string {
  const detail = task.attachments?.[0]?.details?.find((d) => d.name === "privateIPv4Address");
  return detail?.value ?? assert.fail(`task ${task.taskArn ?? ""} has no address`);
}
