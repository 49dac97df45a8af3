import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { RegisterTaskDefinitionRequest } from "@aws-sdk/client-ecs";
import { BerthError } from "../../../../src/core/index.js";
import {
  FARGATE_SIZES,
  checkFargateSize,
  parseCpu,
  parseMemory,
  splitStrategy,
} from "../../../../src/services/ecs/index.js";
import { checkTaskDefinition } from "../../../../src/services/ecs/task-definition-rules.js";

const INVALID_CPU =
  "Invalid 'cpu' setting for task. For more information, see the Troubleshooting section of the Amazon ECS Developer Guide.";
const NO_CONFIGURATION = "No Fargate configuration exists for given values.";

function fargate(cpu: string, memory: string): RegisterTaskDefinitionRequest {
  return {
    family: "sizes",
    requiresCompatibilities: ["FARGATE"],
    networkMode: "awsvpc",
    cpu,
    memory,
    containerDefinitions: [{ name: "app", image: "busybox" }],
  };
}

function refusal(request: RegisterTaskDefinitionRequest): string {
  try {
    checkTaskDefinition(request);
  } catch (error) {
    assert.ok(error instanceof BerthError);
    assert.equal(error.code, "ClientException");
    return error.message;
  }
  assert.fail("expected the task definition to be refused");
}

// The published Fargate table, written out independently of the implementation.
const TABLE: Array<[number, number, number, number]> = [
  // cpu, first memory, last memory, step (MiB)
  [256, 512, 2048, 0],
  [512, 1024, 4096, 1024],
  [1024, 2048, 8192, 1024],
  [2048, 4096, 16384, 1024],
  [4096, 8192, 30720, 1024],
  [8192, 16384, 61440, 4096],
  [16384, 32768, 122880, 8192],
];

function validMemories(first: number, last: number, step: number): number[] {
  if (step === 0) return [512, 1024, 2048];
  const sizes: number[] = [];
  for (let m = first; m <= last; m += step) sizes.push(m);
  return sizes;
}

describe("Fargate CPU and memory table", () => {
  it("has exactly the published CPU values", () => {
    assert.deepEqual(
      [...FARGATE_SIZES.keys()],
      TABLE.map(([cpu]) => cpu),
    );
  });

  for (const [cpu, first, last, step] of TABLE) {
    const valid = validMemories(first, last, step);
    it(`accepts every memory size of ${cpu} CPU units (${valid.length} sizes)`, () => {
      for (const memory of valid) {
        assert.deepEqual(checkFargateSize(cpu, memory), { ok: true, cpu, memory });
        const normalized = checkTaskDefinition(fargate(String(cpu), String(memory)));
        assert.equal(normalized.cpu, String(cpu));
        assert.equal(normalized.memory, String(memory));
        assert.equal(normalized.fargateCompatible, true);
      }
    });

    it(`refuses memory sizes that ${cpu} CPU units do not offer`, () => {
      const invalid = [
        first - 1024,
        first - 1,
        last + 1,
        last + (step || 1024),
        first + (step || 1024) / 2,
      ].filter((m) => m > 0 && !valid.includes(m));
      if (cpu === 256) invalid.push(768, 1536, 3072);
      for (const memory of invalid) {
        assert.deepEqual(
          checkFargateSize(cpu, memory),
          { ok: false, problem: "combination" },
          `memory ${memory}`,
        );
        assert.equal(
          refusal(fargate(String(cpu), String(memory))),
          NO_CONFIGURATION,
          `memory ${memory}`,
        );
      }
    });
  }

  it("refuses CPU values that are not in the table", () => {
    for (const cpu of ["128", "300", "768", "3072", "32768", "0"]) {
      assert.equal(refusal(fargate(cpu, "2048")), INVALID_CPU, cpu);
    }
    assert.equal(refusal(fargate("lots", "2048")), INVALID_CPU);
  });

  it("reads vCPU and GB strings as ECS does", () => {
    assert.equal(parseCpu("1 vCPU"), 1024);
    assert.equal(parseCpu(".25 vcpu"), undefined);
    assert.equal(parseCpu("0.25 vCPU"), 256);
    assert.equal(parseCpu("2vcpu"), 2048);
    assert.equal(parseMemory("2 GB"), 2048);
    assert.equal(parseMemory("0.5GB"), 512);
    assert.equal(parseMemory("512"), 512);
    assert.equal(parseMemory("big"), undefined);
    const normalized = checkTaskDefinition(fargate("1 vCPU", "2 GB"));
    assert.equal(normalized.cpu, "1024");
    assert.equal(normalized.memory, "2048");
  });
});

describe("RegisterTaskDefinition rules for FARGATE", () => {
  const base = fargate("256", "512");

  it("requires awsvpc", () => {
    assert.equal(
      refusal({ ...base, networkMode: "bridge" }),
      "Fargate only supports network mode \u2018awsvpc\u2019.",
    );
  });

  it("requires task-level cpu and memory", () => {
    assert.equal(
      refusal({ ...base, cpu: undefined }),
      "Fargate requires that 'cpu' be defined at the task level.",
    );
    assert.equal(
      refusal({ ...base, memory: undefined }),
      "Fargate requires that 'memory' be defined at the task level.",
    );
  });

  it("requires an essential container and unique names", () => {
    assert.equal(
      refusal({
        ...base,
        containerDefinitions: [{ name: "a", image: "busybox", essential: false }],
      }),
      "Task definition doesn't have any essential container.",
    );
    assert.equal(
      refusal({
        ...base,
        containerDefinitions: [
          { name: "a", image: "x" },
          { name: "a", image: "y" },
        ],
      }),
      "Container names must be unique within a Task Definition.",
    );
    assert.equal(refusal({ ...base, containerDefinitions: [] }), "Container list cannot be empty.");
    assert.equal(
      refusal({ ...base, containerDefinitions: [{ name: "bad name", image: "x" }] }),
      "Container.name contains invalid characters.",
    );
    assert.equal(
      refusal({ ...base, containerDefinitions: [{ name: "a", image: " " }] }),
      "Container.image should not be null or empty.",
    );
  });

  it("keeps container resources within the task's", () => {
    assert.equal(
      refusal({ ...base, containerDefinitions: [{ name: "a", image: "x", memory: 1024 }] }),
      "The 'memory' setting for container 'a' is greater than for the task.",
    );
    assert.equal(
      refusal({
        ...base,
        containerDefinitions: [
          { name: "a", image: "x", cpu: 200 },
          { name: "b", image: "x", cpu: 100 },
        ],
      }),
      "The sum of all container 'cpu' values cannot be greater than the value of the task 'cpu'.",
    );
    assert.equal(
      refusal({
        ...base,
        containerDefinitions: [
          { name: "a", image: "x", memoryReservation: 300 },
          { name: "b", image: "x", memoryReservation: 300 },
        ],
      }),
      "The sum of all container 'memoryReservation' values cannot be greater than the value of the task 'memory'.",
    );
  });

  it("checks dependsOn targets and cycles", () => {
    assert.equal(
      refusal({
        ...base,
        containerDefinitions: [
          { name: "a", image: "x", dependsOn: [{ containerName: "ghost", condition: "START" }] },
        ],
      }),
      "Cannot depend on container + 'ghost' because it does not exist",
    );
    assert.equal(
      refusal({
        ...base,
        containerDefinitions: [
          { name: "a", image: "x", dependsOn: [{ containerName: "b", condition: "START" }] },
          { name: "b", image: "x", dependsOn: [{ containerName: "a", condition: "START" }] },
        ],
      }),
      "Container dependsOn should not have a cycle",
    );
    assert.equal(
      refusal({
        ...base,
        containerDefinitions: [
          { name: "a", image: "x", dependsOn: [{ containerName: "b", condition: "SUCCESS" }] },
          { name: "b", image: "x" },
        ],
      }),
      "A dependency container with SUCCESS or COMPLETE condition cannot be an essential container",
    );
    // A valid chain passes.
    checkTaskDefinition({
      ...base,
      containerDefinitions: [
        { name: "a", image: "x", dependsOn: [{ containerName: "b", condition: "COMPLETE" }] },
        {
          name: "b",
          image: "x",
          essential: false,
          dependsOn: [{ containerName: "c", condition: "START" }],
        },
        { name: "c", image: "x" },
      ],
    });
  });

  it("bounds ephemeral storage to 21-200 GiB", () => {
    assert.equal(
      refusal({ ...base, ephemeralStorage: { sizeInGiB: 20 } }),
      "EphemeralStorage size should be at least 21",
    );
    assert.equal(
      refusal({ ...base, ephemeralStorage: { sizeInGiB: 201 } }),
      "EphemeralStorage size should be at most 200",
    );
    checkTaskDefinition({ ...base, ephemeralStorage: { sizeInGiB: 21 } });
    checkTaskDefinition({ ...base, ephemeralStorage: { sizeInGiB: 200 } });
  });

  it("requires matching host and container ports under awsvpc", () => {
    assert.equal(
      refusal({
        ...base,
        containerDefinitions: [
          { name: "a", image: "x", portMappings: [{ containerPort: 80, hostPort: 8080 }] },
        ],
      }),
      "When networkMode=awsvpc, the host ports and container ports in port mappings must match.",
    );
    assert.equal(
      refusal({
        ...base,
        containerDefinitions: [{ name: "a", image: "x", portMappings: [{ containerPort: 70000 }] }],
      }),
      "Invalid 'containerPort' setting for container 'a'.",
    );
  });

  it("runs Linux only", () => {
    assert.match(
      refusal({ ...base, runtimePlatform: { operatingSystemFamily: "WINDOWS_SERVER_2022_CORE" } }),
      /Linux containers only/,
    );
    checkTaskDefinition({
      ...base,
      runtimePlatform: { operatingSystemFamily: "LINUX", cpuArchitecture: "ARM64" },
    });
  });

  it("checks the family name", () => {
    assert.equal(refusal({ ...base, family: "" }), "Family can not be blank.");
    assert.equal(refusal({ ...base, family: "bad/family" }), "Family contains invalid characters.");
  });
});

describe("capacity provider strategies", () => {
  it("fills the base first, then follows the weights", () => {
    const strategy = [
      { capacityProvider: "FARGATE", base: 2, weight: 1 },
      { capacityProvider: "FARGATE_SPOT", weight: 3 },
    ];
    const split = splitStrategy(strategy, 10);
    assert.deepEqual(split.slice(0, 2), ["FARGATE", "FARGATE"]);
    assert.equal(
      split.filter((p) => p === "FARGATE").length,
      4,
      "2 base + 2 of the other 8 at weight 1:3",
    );
    assert.equal(split.filter((p) => p === "FARGATE_SPOT").length, 6);
  });

  it("counts what a service already runs", () => {
    const strategy = [
      { capacityProvider: "FARGATE", weight: 1 },
      { capacityProvider: "FARGATE_SPOT", weight: 1 },
    ];
    assert.deepEqual(
      splitStrategy(
        strategy,
        2,
        new Map([
          ["FARGATE", 3],
          ["FARGATE_SPOT", 1],
        ]),
      ),
      ["FARGATE_SPOT", "FARGATE_SPOT"],
    );
  });
});
