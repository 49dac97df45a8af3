/** The metadata endpoint's documents (v4 and v3) and the network counters it reads. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  containerDocument,
  parseNetDev,
  taskDocument,
  type TaskFacts,
} from "../../../../src/agent/metadata/index.js";
import type { ContainerAssignment } from "../../../../src/protocol/index.js";

const taskArn = "arn:aws:ecs:eu-west-1:000000000000:task/demo/abc";
const container: ContainerAssignment = {
  name: "app",
  containerArn: "arn:aws:ecs:eu-west-1:000000000000:container/demo/abc/1",
  image: "127.0.0.1:4566/web:1",
  essential: true,
  environment: [],
  cpu: 128,
  memory: 256,
  readonlyRootFilesystem: false,
  initProcessEnabled: false,
  capabilitiesAdd: [],
  capabilitiesDrop: [],
  ulimits: [],
  dockerLabels: { team: "a" },
  dependsOn: [],
  stopTimeout: 30,
  awslogs: { group: "g", stream: "p/app/abc", createGroup: true },
};

function facts(version: 3 | 4): TaskFacts {
  return {
    assignment: {
      taskArn,
      taskId: "abc",
      clusterArn: "arn:aws:ecs:eu-west-1:000000000000:cluster/demo",
      family: "web",
      revision: 7,
      cpu: 512,
      memory: 1024,
      desiredStatus: "RUNNING",
      containers: [container],
      registryCredentials: [],
    },
    state: {
      taskArn,
      lastStatus: "RUNNING",
      pullStartedAt: Date.UTC(2026, 0, 1),
      containers: [{ name: "app", lastStatus: "RUNNING", imageDigest: "sha256:ab" }],
      network: {
        privateIPv4Address: "100.64.0.9",
        macAddress: "0a:00:00:00:00:09",
        subnet: "100.64.0.0/24",
        gateway: "100.64.0.1",
      },
    },
    availabilityZone: "eu-west-1b",
    containers: new Map([["app", { id: "abc-app", startedAt: new Date(Date.UTC(2026, 0, 1)) }]]),
    version,
    storage: { usedBytes: 10 * 1024 * 1024, sizeBytes: 20 * 1024 * 1024 * 1024 },
  };
}

describe("task metadata documents", () => {
  it("describes a container in ECS's v4 shape", () => {
    assert.deepEqual(containerDocument(facts(4), container), {
      DockerId: "abc-app",
      Name: "app",
      DockerName: "app",
      Image: "127.0.0.1:4566/web:1",
      ImageID: "sha256:ab",
      Labels: {
        team: "a",
        "com.amazonaws.ecs.cluster": "arn:aws:ecs:eu-west-1:000000000000:cluster/demo",
        "com.amazonaws.ecs.container-name": "app",
        "com.amazonaws.ecs.task-arn": taskArn,
        "com.amazonaws.ecs.task-definition-family": "web",
        "com.amazonaws.ecs.task-definition-version": "7",
      },
      DesiredStatus: "RUNNING",
      KnownStatus: "RUNNING",
      Limits: { CPU: 128, Memory: 256 },
      StartedAt: "2026-01-01T00:00:00.000Z",
      Type: "NORMAL",
      ContainerARN: "arn:aws:ecs:eu-west-1:000000000000:container/demo/abc/1",
      LogDriver: "awslogs",
      LogOptions: {
        "awslogs-create-group": "true",
        "awslogs-group": "g",
        "awslogs-region": "eu-west-1",
        "awslogs-stream": "p/app/abc",
      },
      Networks: [
        {
          NetworkMode: "awsvpc",
          IPv4Addresses: ["100.64.0.9"],
          AttachmentIndex: 0,
          MACAddress: "0a:00:00:00:00:09",
          IPv4SubnetCIDRBlock: "100.64.0.0/24",
          PrivateDNSName: "ip-100-64-0-9.eu-west-1.compute.internal",
          SubnetGatewayIpv4Address: "100.64.0.1/24",
        },
      ],
    });
  });

  it("describes the task with vCPU limits, its zone and storage, and v3 without network details", () => {
    const task = taskDocument(facts(4));
    assert.equal(task.Cluster, "arn:aws:ecs:eu-west-1:000000000000:cluster/demo");
    assert.equal(task.Revision, "7");
    assert.deepEqual(task.Limits, { CPU: 0.5, Memory: 1024 });
    assert.equal(task.AvailabilityZone, "eu-west-1b");
    assert.equal(task.LaunchType, "FARGATE");
    assert.equal(task.PullStartedAt, "2026-01-01T00:00:00.000Z");
    assert.equal("PullStoppedAt" in task, false);
    assert.deepEqual(task.EphemeralStorageMetrics, { Utilized: 10, Reserved: 20480 });
    const v3 = taskDocument(facts(3));
    assert.equal("EphemeralStorageMetrics" in v3, false);
    const [c] = v3.Containers as Array<{ Networks: unknown }>;
    assert.deepEqual(c?.Networks, [{ NetworkMode: "awsvpc", IPv4Addresses: ["100.64.0.9"] }]);
  });

  it("reads a namespace's interfaces from /proc/<pid>/net/dev, without loopback", () => {
    const text = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:     100       2    0    0    0     0          0         0      100       2    0    0    0     0       0          0
  eth0:    5000      40    1    2    0     0          0         0     3000      30    3    4    0     0       0          0
`;
    assert.deepEqual(parseNetDev(text), {
      eth0: {
        rx_bytes: 5000,
        rx_packets: 40,
        rx_errors: 1,
        rx_dropped: 2,
        tx_bytes: 3000,
        tx_packets: 30,
        tx_errors: 3,
        tx_dropped: 4,
      },
    });
  });
});
