// Task volumes: which definitions can run on Fargate, and each container's resolved mounts.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ContainerDefinition } from "@aws-sdk/client-ecs";
import { checkVolumes, mountPointsOf } from "../../../../src/services/ecs/volumes.js";

const byName = (containers: ContainerDefinition[]): Map<string, ContainerDefinition> =>
  new Map(containers.map((c) => [c.name ?? "", c]));

describe("task volumes", () => {
  it("takes every mount of each volumesFrom source, transitively, read-only when asked", () => {
    const containers: ContainerDefinition[] = [
      {
        name: "base",
        mountPoints: [
          { sourceVolume: "data", containerPath: "/data" },
          { sourceVolume: "conf", containerPath: "/conf", readOnly: true },
        ],
      },
      {
        name: "middle",
        mountPoints: [{ sourceVolume: "logs", containerPath: "/logs" }],
        volumesFrom: [{ sourceContainer: "base" }],
      },
      { name: "top", volumesFrom: [{ sourceContainer: "middle", readOnly: true }] },
    ];
    const names = byName(containers);
    assert.deepEqual(mountPointsOf(containers[1] as ContainerDefinition, names), [
      { sourceVolume: "logs", containerPath: "/logs", readOnly: false },
      { sourceVolume: "data", containerPath: "/data", readOnly: false },
      { sourceVolume: "conf", containerPath: "/conf", readOnly: true },
    ]);
    assert.deepEqual(
      mountPointsOf(containers[2] as ContainerDefinition, names).map((m) => m.readOnly),
      [true, true, true],
    );
  });

  it("answers whether the volumes can run on Fargate", () => {
    const app: ContainerDefinition[] = [{ name: "app" }];
    assert.equal(checkVolumes([{ name: "scratch" }, { name: "h", host: {} }], app, true), true);
    assert.equal(checkVolumes([{ name: "h", host: { sourcePath: "/srv" } }], app, false), false);
    assert.equal(
      checkVolumes([{ name: "d", dockerVolumeConfiguration: { driver: "local" } }], app, false),
      false,
    );
    assert.throws(() => checkVolumes([{ name: "h", host: { sourcePath: "/srv" } }], app, true), {
      message: "Fargate compatible task definitions do not support sourcePath",
    });
  });

  it("refuses a container mounting the same path twice, through volumesFrom too", () => {
    const containers: ContainerDefinition[] = [
      { name: "a", essential: false, mountPoints: [{ sourceVolume: "v", containerPath: "/v" }] },
      {
        name: "b",
        mountPoints: [{ sourceVolume: "w", containerPath: "/v" }],
        volumesFrom: [{ sourceContainer: "a" }],
      },
    ];
    assert.throws(() => checkVolumes([{ name: "v" }, { name: "w" }], containers, true), {
      code: "ClientException",
      message: "Duplicate mount point '/v' in container 'b'.",
    });
  });
});
