/**
 * The JSON documents of the task metadata endpoint (v4, and v3, which is v4 without the network
 * details), in the shapes "Task metadata endpoint version 4 for tasks on Fargate" documents:
 * one container's metadata, and the task's with every container in it.
 */
import type { ContainerAssignment, TaskAssignment, TaskState } from "../../protocol/index.js";

/** What the runtime knows of a container (Docker's id, times) beside what the agent reports. */
export interface ContainerFacts {
  id: string;
  createdAt?: Date;
  startedAt?: Date;
  finishedAt?: Date;
}

export interface TaskFacts {
  assignment: TaskAssignment;
  state: TaskState;
  availabilityZone: string;
  containers: Map<string, ContainerFacts>;
  version: 3 | 4;
  /** The task's ephemeral storage in use and its size, in bytes. */
  storage?: { usedBytes: number; sizeBytes: number };
}

type Json = Record<string, unknown>;

const MiB = 1024 * 1024;

function regionOf(taskArn: string): string {
  return taskArn.split(":")[3] ?? "us-east-1";
}

function iso(value: Date | number | undefined): string | undefined {
  return value === undefined ? undefined : new Date(value).toISOString();
}

/** Drops undefined members, so absent facts are absent keys as in ECS's answers. */
function defined(object: Json): Json {
  return Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined));
}

function networks(facts: TaskFacts): Json[] {
  const network = facts.state.network;
  if (network === undefined) return [];
  if (facts.version === 3)
    return [{ NetworkMode: "awsvpc", IPv4Addresses: [network.privateIPv4Address] }];
  const region = regionOf(facts.assignment.taskArn);
  const domain = region === "us-east-1" ? "ec2.internal" : `${region}.compute.internal`;
  const prefix = network.subnet.split("/")[1] ?? "24";
  // Fargate also lists the VPC's DNS servers; Berth runs no resolver for tasks, so none.
  return [
    {
      NetworkMode: "awsvpc",
      IPv4Addresses: [network.privateIPv4Address],
      AttachmentIndex: 0,
      MACAddress: network.macAddress,
      IPv4SubnetCIDRBlock: network.subnet,
      PrivateDNSName: `ip-${network.privateIPv4Address.replaceAll(".", "-")}.${domain}`,
      SubnetGatewayIpv4Address: `${network.gateway}/${prefix}`,
    },
  ];
}

export function containerDocument(facts: TaskFacts, container: ContainerAssignment): Json {
  const { assignment } = facts;
  const state = facts.state.containers.find((c) => c.name === container.name);
  const runtime = facts.containers.get(container.name);
  const known = state?.lastStatus ?? "PENDING";
  return defined({
    DockerId: runtime?.id,
    Name: container.name,
    DockerName: container.name,
    Image: container.image,
    ImageID: state?.imageDigest,
    Labels: {
      ...container.dockerLabels,
      "com.amazonaws.ecs.cluster": assignment.clusterArn,
      "com.amazonaws.ecs.container-name": container.name,
      "com.amazonaws.ecs.task-arn": assignment.taskArn,
      "com.amazonaws.ecs.task-definition-family": assignment.family,
      "com.amazonaws.ecs.task-definition-version": String(assignment.revision ?? ""),
    },
    DesiredStatus: assignment.desiredStatus === "STOPPED" ? "STOPPED" : "RUNNING",
    KnownStatus: known,
    Limits: defined({ CPU: container.cpu, Memory: container.memory }),
    CreatedAt: iso(runtime?.createdAt),
    StartedAt: iso(runtime?.startedAt),
    FinishedAt: known === "STOPPED" ? iso(runtime?.finishedAt) : undefined,
    ExitCode: state?.exitCode,
    Type: "NORMAL",
    Health: state?.healthStatus === undefined ? undefined : { status: state.healthStatus },
    ContainerARN: container.containerArn,
    ...(container.awslogs === undefined
      ? {}
      : {
          LogDriver: "awslogs",
          LogOptions: {
            "awslogs-create-group": String(container.awslogs.createGroup),
            "awslogs-group": container.awslogs.group,
            "awslogs-region": regionOf(assignment.taskArn),
            "awslogs-stream": container.awslogs.stream,
          },
        }),
    Networks: networks(facts),
  });
}

export function taskDocument(facts: TaskFacts): Json {
  const { assignment, state } = facts;
  // ECS's task statuses; its transitional ones (ACTIVATING ...) show as the nearest it reports.
  const known =
    state.lastStatus === "PROVISIONING" ||
    state.lastStatus === "PENDING" ||
    state.lastStatus === "ACTIVATING"
      ? "PENDING"
      : state.lastStatus === "RUNNING"
        ? "RUNNING"
        : state.lastStatus === "STOPPED"
          ? "STOPPED"
          : "STOPPING";
  return defined({
    Cluster: assignment.clusterArn,
    TaskARN: assignment.taskArn,
    Family: assignment.family,
    Revision: assignment.revision === undefined ? undefined : String(assignment.revision),
    DesiredStatus: assignment.desiredStatus,
    KnownStatus: known,
    Limits: { CPU: assignment.cpu / 1024, Memory: assignment.memory },
    PullStartedAt: iso(state.pullStartedAt),
    PullStoppedAt: iso(state.pullStoppedAt),
    ExecutionStoppedAt: iso(state.executionStoppedAt),
    AvailabilityZone: facts.availabilityZone,
    LaunchType: "FARGATE",
    Containers: assignment.containers.map((c) => containerDocument(facts, c)),
    EphemeralStorageMetrics:
      facts.storage === undefined || facts.version === 3
        ? undefined
        : {
            Utilized: Math.round(facts.storage.usedBytes / MiB),
            Reserved: Math.round(facts.storage.sizeBytes / MiB),
          },
    // Fargate adds ClockDrift (chrony's error bound); Berth has no reading of the host clock's
    // error bound and leaves it out rather than invent one.
  });
}
