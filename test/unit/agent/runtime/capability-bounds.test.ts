/**
 * Defence in depth for the tenant boundary: a hostile assignment that reached a host (a record
 * stored before the API's Fargate rules, or forged) goes through the agent's own path — the
 * protocol parser, the container spec, the OCI spec — and never yields a capability beyond
 * Docker's default set and SYS_PTRACE, a privileged container or a host device.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  ALLOWED_CAPABILITIES,
  buildOciSpec,
  DEFAULT_CAPABILITIES,
} from "../../../../src/agent/runtime/index.js";
import { buildContainerSpec } from "../../../../src/agent/tasks/container-spec.js";
import { parseServerMessage, type TaskAssignment } from "../../../../src/protocol/index.js";
import { containerAssignment } from "../../protocol/assignments.js";

const ctx = {
  rootfsPath: "/r",
  netnsPath: "/run/netns/t1",
  cgroupsPath: "/berth/t1/c1",
  cgroupVersion: 1 as const,
  user: { uid: 0, gid: 0, additionalGids: [], home: "/root" },
  etcFiles: { hostname: "/b/hostname", hosts: "/b/hosts", resolvConf: "/b/resolv.conf" },
  initBinary: "/usr/bin/catatonit",
};

/** An assignment as a hostile record would carry it, through the agent's real parser. */
function hostileAssignment(container: Record<string, unknown>): TaskAssignment {
  const message = parseServerMessage(
    JSON.stringify({
      type: "sync",
      tasks: [
        {
          taskArn: "arn",
          taskId: "t1",
          clusterArn: "c",
          family: "f",
          cpu: 256,
          memory: 512,
          desiredStatus: "RUNNING",
          registryCredentials: [],
          containers: [{ ...containerAssignment({ image: "img" }), ...container }],
        },
      ],
    }),
  );
  assert.ok(message?.type === "sync");
  const task = message.tasks[0];
  assert.ok(task !== undefined);
  return task;
}

function ociSpecOf(assignment: TaskAssignment) {
  const container = assignment.containers[0];
  assert.ok(container !== undefined);
  const spec = buildContainerSpec(
    "t1",
    0,
    container,
    { digest: "sha256:00", config: { cmd: ["sh"] } },
    {},
  );
  return buildOciSpec(spec, ctx) as {
    process: { capabilities: { bounding: string[]; effective: string[]; permitted: string[] } };
    linux: { devices?: unknown; resources: { devices: unknown[] } };
  };
}

describe("capabilities a hostile record asks for", () => {
  for (const add of [
    ["SYS_ADMIN"],
    ["ALL"],
    ["CAP_SYS_MODULE"],
    ["sys_admin"],
    ["SYS_PTRACE", "NET_ADMIN"],
  ])
    it(`refuses add ${JSON.stringify(add)} before a container exists`, () => {
      const assignment = hostileAssignment({ capabilitiesAdd: add });
      assert.throws(() => ociSpecOf(assignment), {
        code: "InvalidContainerSpec",
        message: /may not be added/,
      });
    });

  it("allows SYS_PTRACE and nothing beyond the allowed set", () => {
    const spec = ociSpecOf(hostileAssignment({ capabilitiesAdd: ["SYS_PTRACE"] }));
    const { bounding, effective, permitted } = spec.process.capabilities;
    assert.deepEqual(new Set(bounding), new Set([...DEFAULT_CAPABILITIES, "CAP_SYS_PTRACE"]));
    assert.deepEqual(effective, bounding);
    assert.deepEqual(permitted, bounding);
    for (const cap of bounding) assert.ok(ALLOWED_CAPABILITIES.includes(cap), cap);
  });

  it("strips privileged and devices: default capabilities, no host device, devices denied", () => {
    const spec = ociSpecOf(
      hostileAssignment({
        privileged: true,
        devices: [{ hostPath: "/dev/sda", containerPath: "/dev/sda", permissions: ["read"] }],
        linuxParameters: { capabilities: { add: ["ALL"] }, devices: [{ hostPath: "/dev/mem" }] },
      }),
    );
    assert.deepEqual(new Set(spec.process.capabilities.bounding), new Set(DEFAULT_CAPABILITIES));
    assert.equal(spec.linux.devices, undefined, "no device node from the host");
    assert.deepEqual(spec.linux.resources.devices, [{ allow: false, access: "rwm" }]);
  });
});
