/**
 * The contract every TaskUsageSource keeps: the in-memory one (memory-source.test.ts) and the
 * one the compute side builds over its tasks table. Run it with a factory that holds the given
 * tasks: `runTaskUsageSourceContract("tasks table", async (tasks) => ({ source, close }))`.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { TaskUsage, TaskUsageSource } from "../../../src/billing/index.js";

export type MakeSource = (
  tasks: readonly TaskUsage[],
) => Promise<{ source: TaskUsageSource; close?: () => Promise<void> }>;

const base = (n: number, overrides: Partial<TaskUsage>): TaskUsage => ({
  taskArn: `arn:aws:ecs:us-east-1:000000000000:task/default/${n.toString(16).padStart(32, "0")}`,
  clusterArn: "arn:aws:ecs:us-east-1:000000000000:cluster/default",
  group: "service:web",
  taskDefinitionArn: "arn:aws:ecs:us-east-1:000000000000:task-definition/web:3",
  family: "web",
  tags: { team: "alpha", "cost-center": "42" },
  cpu: 512,
  memoryMiB: 1024,
  ephemeralStorageGiB: 21,
  cpuArchitecture: "ARM64",
  capacityProviderName: "FARGATE_SPOT",
  ...overrides,
});

const T = (iso: string) => new Date(`2026-05-01T${iso}Z`);

/** Fixture tasks around the window [10:00, 11:00) with stoppedAtOrAfter 09:59. */
export const CONTRACT_TASKS: readonly TaskUsage[] = [
  base(1, { pullStartedAt: T("09:00:00"), stoppedAt: T("09:30:00") }), // stopped long before
  base(2, { pullStartedAt: T("09:00:00"), stoppedAt: T("09:59:00") }), // stopped exactly at the bound: in
  base(3, { pullStartedAt: T("09:00:00"), stoppedAt: T("09:58:59.999") }), // just before it: out
  base(4, { pullStartedAt: T("10:30:00") }), // running: in
  base(5, { pullStartedAt: undefined }), // never pulled: out
  base(6, { pullStartedAt: undefined, stoppedAt: T("10:10:00") }), // stopped before pulling: out
  base(7, { pullStartedAt: T("11:00:00") }), // pulled exactly at `before`: out
  base(8, { pullStartedAt: T("10:59:59.999"), stoppedAt: T("12:00:00") }), // in
  base(9, {
    pullStartedAt: T("08:00:00"),
    group: undefined,
    tags: {},
    cpuArchitecture: "X86_64",
    capacityProviderName: "FARGATE",
  }), // running for hours: in
];

/** Absent and undefined fields are the same thing to a source. */
const defined = (t: TaskUsage) =>
  Object.fromEntries(Object.entries(t).filter(([, v]) => v !== undefined));

export function runTaskUsageSourceContract(name: string, make: MakeSource): void {
  describe(`TaskUsageSource contract: ${name}`, () => {
    const query = async (tasks: readonly TaskUsage[], before: Date, after: Date) => {
      const { source, close } = await make(tasks);
      try {
        return await source.tasksPulledBefore(before, after);
      } finally {
        await close?.();
      }
    };
    const ids = (tasks: readonly TaskUsage[]) => tasks.map((t) => t.taskArn.slice(-2)).sort();

    it("returns exactly the tasks pulled before `before` and not stopped before `stoppedAtOrAfter`", async () => {
      const found = await query(CONTRACT_TASKS, T("11:00:00"), T("09:59:00"));
      assert.deepEqual(ids(found), ["02", "04", "08", "09"]);
    });

    it("hands every field over intact", async () => {
      const found = await query(CONTRACT_TASKS, T("11:00:00"), T("09:59:00"));
      for (const task of found) {
        const expected = CONTRACT_TASKS.find((t) => t.taskArn === task.taskArn);
        assert.deepEqual(defined(task), defined(expected as TaskUsage));
        assert.ok(task.pullStartedAt instanceof Date);
      }
    });

    it("returns nothing when nothing was pulled", async () => {
      assert.deepEqual(await query([], T("11:00:00"), T("09:00:00")), []);
      assert.deepEqual(await query(CONTRACT_TASKS, T("07:00:00"), T("06:00:00")), []);
    });

    it("returns copies: changing what it returned changes nothing it holds", async () => {
      const { source, close } = await make(CONTRACT_TASKS);
      try {
        const first = await source.tasksPulledBefore(T("11:00:00"), T("09:59:00"));
        for (const t of first) t.tags.team = "mutated";
        const again = await source.tasksPulledBefore(T("11:00:00"), T("09:59:00"));
        assert.ok(again.every((t) => t.tags.team !== "mutated"));
      } finally {
        await close?.();
      }
    });
  });
}
