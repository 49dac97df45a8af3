// The schedule runner over a real SQLite store with a schedule clock that moves only when told:
// fires on time with startedBy and a derived clientToken, runs a fire missed while "down" once
// (and says so), never runs a fire twice when its record is lost (a deposed leader, a crash),
// retries capacity failures per RetryPolicy, drops what is too old, and runs at() once.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, beforeEach, describe, it } from "node:test";
import type { RunTaskRequest, RunTaskResponse } from "@aws-sdk/client-ecs";
import { rootPrincipal, type RequestContext } from "../../../../src/aws/index.js";
import { LeaseLost } from "../../../../src/control/index.js";
import { ManualClock, silentLogger, type Logger } from "../../../../src/core/index.js";
import {
  ensureDefaultScheduleGroup,
  ScheduleRunner,
} from "../../../../src/services/scheduler/index.js";
import { scheduleHandlers } from "../../../../src/services/scheduler/schedules.js";
import { openSqliteStore, type Store } from "../../../../src/store/index.js";

const IDENTITY = { accountId: "000000000000", region: "us-east-1" };
const CLUSTER = "arn:aws:ecs:us-east-1:000000000000:cluster/default";
const TASK_DEFINITION = "arn:aws:ecs:us-east-1:000000000000:task-definition/job:1";
const ROLE = "arn:aws:iam::000000000000:role/scheduler";
const MINUTE = 60_000;

/** RunTask as the runner sees it: idempotent by clientToken, placing nothing while `full`. */
class FakeRunTask {
  readonly answers = new Map<string, RunTaskResponse>();
  readonly requests: (RunTaskRequest & { clientToken: string })[] = [];
  tasks = 0;
  full = false;
  run = async (request: RunTaskRequest & { clientToken: string }): Promise<RunTaskResponse> => {
    this.requests.push(request);
    const earlier = this.answers.get(request.clientToken);
    if (earlier !== undefined) return earlier;
    const answer: RunTaskResponse = this.full
      ? { tasks: [], failures: [{ reason: "RESOURCE:MEMORY" }] }
      : {
          tasks: [{ taskArn: `task/${++this.tasks}`, startedBy: request.startedBy }],
          failures: [],
        };
    this.answers.set(request.clientToken, answer);
    return answer;
  };
}

class RecordingLog implements Logger {
  readonly warnings: string[] = [];
  debug(): void {}
  info(): void {}
  warn(message: string): void {
    this.warnings.push(message);
  }
  error(): void {}
  child(): Logger {
    return this;
  }
}

describe("schedule runner", () => {
  let dir: string;
  let store: Store;
  let clock: ManualClock;
  let ecs: FakeRunTask;
  let log: RecordingLog;
  let fenceFails: boolean;
  let runner: ScheduleRunner;
  let api: ReturnType<typeof scheduleHandlers>;
  const ctx = (): RequestContext => ({
    requestId: "r",
    identity: IDENTITY,
    clock,
    log: silentLogger,
    accessKeyId: "AKIA",
    principal: rootPrincipal(IDENTITY.accountId),
  });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "berth-scheduler-"));
    store = await openSqliteStore(join(dir, "berth.db"));
  });
  after(async () => {
    await store.destroy();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    await store.deleteFrom("schedules").execute();
    clock = new ManualClock(new Date("2026-03-07T12:00:00Z"));
    await ensureDefaultScheduleGroup(store, IDENTITY, clock.now().getTime());
    ecs = new FakeRunTask();
    log = new RecordingLog();
    fenceFails = false;
    runner = new ScheduleRunner({
      store,
      clock,
      log,
      runTask: ecs.run,
      fence: async () => {
        if (fenceFails) throw new LeaseLost("control-plane");
      },
    });
    api = scheduleHandlers(store, clock, () => undefined);
  });

  const create = (name: string, expression: string, extra: Record<string, unknown> = {}) =>
    api.createSchedule(
      {
        Name: name,
        ScheduleExpression: expression,
        FlexibleTimeWindow: { Mode: "OFF" },
        Target: {
          Arn: CLUSTER,
          RoleArn: ROLE,
          EcsParameters: { TaskDefinitionArn: TASK_DEFINITION },
        },
        ...extra,
      },
      ctx(),
    );

  it("fires a rate schedule at once and then every period, startedBy the schedule", async () => {
    await create("every-minute", "rate(1 minute)");
    await runner.runDue();
    assert.equal(ecs.tasks, 1);
    await runner.runDue();
    assert.equal(ecs.tasks, 1, "nothing is due again within the minute");
    clock.advance(MINUTE);
    await runner.runDue();
    assert.equal(ecs.tasks, 2);
    const request = ecs.requests[1];
    assert.equal(request?.startedBy, "chronos-schedule/every-minute");
    assert.equal(request?.cluster, CLUSTER);
    assert.equal(request?.taskDefinition, TASK_DEFINITION);
    assert.equal(request?.count, 1);
    assert.match(request?.clientToken ?? "", /^[0-9a-f]{64}$/);
    assert.notEqual(ecs.requests[0]?.clientToken, request?.clientToken);
  });

  it("runs a fire missed while down once, says so, and skips the rest", async () => {
    await create("hourly", "cron(0 * * * ? *)");
    // "Down" from 12:00 to 17:30: the 13:00 fire is owed; 14:00..17:00 passed too.
    clock.set(new Date("2026-03-07T17:30:00Z"));
    await runner.runDue();
    await runner.runDue();
    assert.equal(ecs.tasks, 1);
    assert.ok(log.warnings.some((w) => /missed its time while Berth was down/.test(w)));
    const row = await store.selectFrom("schedules").selectAll().executeTakeFirstOrThrow();
    assert.equal(new Date(Number(row.next_fire_at)).toISOString(), "2026-03-07T18:00:00.000Z");
  });

  it("never runs a fire twice when its record is refused (a deposed leader, a crash)", async () => {
    await create("once-a-minute", "rate(1 minute)");
    fenceFails = true;
    await assert.rejects(runner.runDue(), LeaseLost);
    assert.equal(ecs.tasks, 1, "the deposed run started its task");
    fenceFails = false;
    await runner.runDue();
    assert.equal(ecs.requests.length, 2, "the fire was tried again...");
    assert.equal(ecs.requests[0]?.clientToken, ecs.requests[1]?.clientToken);
    assert.equal(ecs.tasks, 1, "...and answered with the same task");
  });

  it("retries a capacity failure with back-off and a new token, then runs", async () => {
    await create("retrying", "rate(1 hour)", {
      Target: {
        Arn: CLUSTER,
        RoleArn: ROLE,
        EcsParameters: { TaskDefinitionArn: TASK_DEFINITION },
        RetryPolicy: { MaximumRetryAttempts: 3 },
      },
    });
    ecs.full = true;
    await runner.runDue();
    await runner.runDue();
    assert.equal(ecs.requests.length, 1, "the retry waits for its back-off");
    clock.advance(1_000);
    await runner.runDue();
    assert.equal(ecs.requests.length, 2);
    assert.notEqual(ecs.requests[0]?.clientToken, ecs.requests[1]?.clientToken);
    ecs.full = false;
    clock.advance(2_000);
    await runner.runDue();
    assert.equal(ecs.tasks, 1);
    const row = await store.selectFrom("schedules").selectAll().executeTakeFirstOrThrow();
    assert.equal(Number(row.attempt), 0);
    assert.equal(Number(row.next_fire_at), new Date("2026-03-07T13:00:00Z").getTime());
  });

  it("gives up after MaximumRetryAttempts and on fires older than MaximumEventAgeInSeconds", async () => {
    await create("no-retries", "rate(1 hour)", {
      Target: {
        Arn: CLUSTER,
        RoleArn: ROLE,
        EcsParameters: { TaskDefinitionArn: TASK_DEFINITION },
        RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 },
      },
    });
    ecs.full = true;
    await runner.runDue();
    assert.equal(ecs.requests.length, 1);
    assert.ok(log.warnings.includes("schedule run dropped"));
    // The 13:00 fire, found at 13:05, is older than 60 s: dropped unrun.
    ecs.full = false;
    clock.set(new Date("2026-03-07T13:05:00Z"));
    await runner.runDue();
    assert.equal(ecs.requests.length, 1);
    assert.equal(ecs.tasks, 0);
  });

  it("runs at() once, and deletes the schedule after it with ActionAfterCompletion DELETE", async () => {
    await create("one-shot", "at(2026-03-07T13:00:00)", { ActionAfterCompletion: "DELETE" });
    await create("one-shot-kept", "at(2026-03-07T13:00:00)");
    await runner.runDue();
    assert.equal(ecs.tasks, 0, "not before its time");
    clock.set(new Date("2026-03-07T13:00:30Z"));
    await runner.runDue();
    clock.advance(24 * 60 * MINUTE);
    await runner.runDue();
    assert.equal(ecs.tasks, 2, "each ran exactly once");
    const left = await store.selectFrom("schedules").select("name").execute();
    assert.deepEqual(
      left.map((row) => row.name),
      ["one-shot-kept"],
    );
  });

  it("does not run a disabled schedule", async () => {
    await create("off", "rate(1 minute)", { State: "DISABLED" });
    clock.advance(10 * MINUTE);
    await runner.runDue();
    assert.equal(ecs.requests.length, 0);
  });
});
