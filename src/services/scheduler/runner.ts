/**
 * The schedule runner: a leader role (one server at a time runs it) that fires due schedules.
 * Each pass reads the enabled schedules whose owed fire is due on the schedule clock, runs each
 * through RunTask itself (the ECS layer's `ScheduledTaskPort`, the path every task takes), and
 * records what the pure planner (fire-plan.ts) says follows, in a transaction fenced by the
 * leader's lease.
 *
 * Exactly once: the RunTask of a fire carries a clientToken derived from the schedule, its
 * version, the owed fire time and the attempt (run-target.ts). A server that dies between the
 * RunTask and the record, or a deposed leader whose record is refused by the fence, leaves the
 * fire owed; whoever runs it next sends the same token and gets the first answer — the same
 * task — instead of a second task.
 */
import type { RunTaskRequest, RunTaskResponse } from "@aws-sdk/client-ecs";
import { BerthError, SerialPass, type Clock, type Logger } from "../../core/index.js";
import type { Fence } from "../../control/index.js";
import type { ScheduleTable, Store } from "../../store/index.js";
import { parseScheduleExpression } from "./expressions.js";
import {
  afterRun,
  LATE_AFTER_MS,
  missedSince,
  tooOld,
  type OwedFire,
  type RunOutcome,
} from "./fire-plan.js";
import { runTaskRequest } from "./run-target.js";
import type { ScheduleDefinition } from "./schedule-rules.js";

/**
 * How a schedule starts its tasks: ECS's RunTask action as a session of the target's RoleArn,
 * given by the composition root.
 */
export type ScheduledTaskPort = (
  request: RunTaskRequest & { clientToken: string },
  roleArn: string,
) => Promise<RunTaskResponse>;

export interface ScheduleRunnerOptions {
  store: Store;
  /** The schedule clock: what fire times are compared with (scaled in tests). */
  clock: Clock;
  log: Logger;
  runTask: ScheduledTaskPort;
  /** The leader's lease: a run is recorded only while this server still leads. */
  fence?: Fence;
}

const BATCH = 50;

export class ScheduleRunner {
  readonly #passes: SerialPass;

  constructor(private readonly options: ScheduleRunnerOptions) {
    this.#passes = new SerialPass(() => this.runDue(), options.log, {
      deposed: "schedules stopped: no longer leading",
      failed: "running schedules failed",
    });
  }

  start(): void {
    this.#passes.start(500);
    this.kick();
  }

  async stop(): Promise<void> {
    await this.#passes.stop();
  }

  /** A pass now (or right after the one under way); nothing while stopped. */
  kick(): void {
    void this.#passes.kick();
  }

  /** One pass: every due schedule, oldest first. */
  async runDue(): Promise<void> {
    const now = this.options.clock.now().getTime();
    const due = await this.options.store
      .selectFrom("schedules")
      .selectAll()
      .where("state", "=", "ENABLED")
      .where("due_at", "<=", now)
      .orderBy("due_at")
      .limit(BATCH)
      .execute();
    for (const row of due) await this.#fire(row);
  }

  async #fire(row: ScheduleTable): Promise<void> {
    const { log } = this.options;
    const definition = JSON.parse(row.document) as ScheduleDefinition;
    const expression = parseScheduleExpression(definition.ScheduleExpression);
    if (expression === undefined || row.next_fire_at === null) return;
    const owed: OwedFire = {
      definition,
      expression,
      scheduleArn: row.arn,
      definedAt: Number(row.updated_at),
      fireAt: Number(row.next_fire_at),
      attempt: Number(row.attempt),
    };
    const now = this.options.clock.now().getTime();
    const context = { schedule: row.arn, fireAt: new Date(owed.fireAt).toISOString() };
    let outcome: RunOutcome | "too-old";
    if (tooOld(owed, now)) outcome = "too-old";
    else {
      if (owed.attempt === 0 && now - Number(row.due_at) > LATE_AFTER_MS)
        // Nobody ran schedules when this fire was due (every server was down): it runs once now,
        // and the fire times that passed meanwhile are skipped, not made up.
        log.warn("schedule missed its time while Berth was down; running it once now", {
          ...context,
          late: `${Math.round((now - owed.fireAt) / 1000)} s`,
          skipped: missedSince(owed, now),
        });
      outcome = await this.#run(row, owed);
    }
    const next = afterRun(owed, outcome, now);
    const deleteNow = next.complete && definition.ActionAfterCompletion === "DELETE";
    const recorded = await this.options.store.transaction().execute(async (trx) => {
      await this.options.fence?.(trx);
      // Only over the state this pass read: an UpdateSchedule or DeleteSchedule in between wins.
      if (deleteNow) {
        const deleted = await trx
          .deleteFrom("schedules")
          .where("arn", "=", row.arn)
          .where("version", "=", row.version)
          .where("next_fire_at", "=", owed.fireAt)
          .where("attempt", "=", owed.attempt)
          .executeTakeFirst();
        return deleted.numDeletedRows > 0n;
      }
      const updated = await trx
        .updateTable("schedules")
        .set({
          next_fire_at: next.nextFireAt,
          due_at: next.dueAt,
          attempt: next.attempt,
          ...(outcome !== "too-old" && outcome.kind === "started"
            ? { last_fire_at: owed.fireAt }
            : {}),
        })
        .where("arn", "=", row.arn)
        .where("version", "=", row.version)
        .where("next_fire_at", "=", owed.fireAt)
        .where("attempt", "=", owed.attempt)
        .executeTakeFirst();
      return updated.numUpdatedRows > 0n;
    });
    if (!recorded) return;
    if (next.dropped !== undefined)
      log.warn("schedule run dropped", { ...context, reason: next.dropped });
    else if (next.attempt > 0)
      log.info("schedule run will be retried", {
        ...context,
        attempt: next.attempt,
        reason: outcome !== "too-old" && "reason" in outcome ? outcome.reason : "",
      });
    if (deleteNow)
      log.info("schedule completed and deleted (ActionAfterCompletion DELETE)", context);
  }

  async #run(row: ScheduleTable, owed: OwedFire): Promise<RunOutcome> {
    const request = runTaskRequest(owed.definition.Target, {
      scheduleArn: row.arn,
      scheduleName: row.name,
      version: Number(row.version),
      fireAt: owed.fireAt,
      attempt: owed.attempt,
    });
    try {
      const answer = await this.options.runTask(request, owed.definition.Target.RoleArn ?? "");
      const taskArns = (answer.tasks ?? []).map((task) => task.taskArn ?? "");
      if (taskArns.length > 0) {
        this.options.log.info("schedule ran", { schedule: row.arn, tasks: taskArns.length });
        return { kind: "started", taskArns };
      }
      const reason = (answer.failures ?? []).map((f) => f.reason ?? "").join(", ") || "no capacity";
      return { kind: "no-capacity", reason };
    } catch (error) {
      // The caller's fault (no such cluster or task definition) will not pass on a retry.
      if (error instanceof BerthError && error.fault === "client")
        return { kind: "refused", reason: error.message };
      return { kind: "failed", reason: error instanceof Error ? error.message : String(error) };
    }
  }
}
