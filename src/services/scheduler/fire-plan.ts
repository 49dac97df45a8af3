/**
 * The runner's decisions, pure: when a schedule is first due, when within its flexible window
 * a fire is tried, and what follows a run — the next fire time, a retry with back-off, or a
 * drop (past MaximumRetryAttempts or MaximumEventAgeInSeconds). A fire owed from before a
 * downtime is run once, however many fire times passed meanwhile; the rest are counted as
 * missed, never run.
 */
import { createHash } from "node:crypto";
import { nextFireTime, type ScheduleExpression, type ScheduleWindow } from "./expressions.js";
import { DEFAULT_RETRY, type ScheduleDefinition } from "./schedule-rules.js";

/** A fire tried later than this after it was due was missed by the runner (Berth was down). */
export const LATE_AFTER_MS = 60_000;
const MAX_BACKOFF_MS = 5 * 60_000;

export function windowOf(definition: ScheduleDefinition, definedAt: number): ScheduleWindow {
  return {
    zone: definition.ScheduleExpressionTimezone,
    anchor: definition.StartDate ?? definedAt,
    ...(definition.StartDate === undefined ? {} : { startDate: definition.StartDate }),
    ...(definition.EndDate === undefined ? {} : { endDate: definition.EndDate }),
  };
}

/**
 * When a fire owed at `fireAt` is tried: at once with no flexible window, else at an offset
 * within it that every server computes alike (a hash of the schedule and the fire time).
 */
export function dueAtOf(
  definition: ScheduleDefinition,
  scheduleArn: string,
  fireAt: number,
): number {
  const minutes = definition.FlexibleTimeWindow.MaximumWindowInMinutes;
  if (definition.FlexibleTimeWindow.Mode !== "FLEXIBLE" || minutes === undefined) return fireAt;
  const hash = createHash("sha256").update(`${scheduleArn}\n${fireAt}`).digest();
  return fireAt + (hash.readUInt32BE(0) % (minutes * 60)) * 1000;
}

export interface FireState {
  nextFireAt: number | null;
  dueAt: number | null;
  attempt: number;
}

/** The first fire of a schedule written at `now` (created, or updated: counting starts again). */
export function firstFire(
  definition: ScheduleDefinition,
  expression: ScheduleExpression,
  scheduleArn: string,
  now: number,
): FireState {
  const next = nextFireTime(expression, windowOf(definition, now), now - 1);
  return {
    nextFireAt: next ?? null,
    dueAt: next === undefined ? null : dueAtOf(definition, scheduleArn, next),
    attempt: 0,
  };
}

export type RunOutcome =
  | { kind: "started"; taskArns: string[] }
  /** RunTask placed nothing (RESOURCE:*): retried per the RetryPolicy. */
  | { kind: "no-capacity"; reason: string }
  /** RunTask refused the request (no such cluster or task definition): never retried. */
  | { kind: "refused"; reason: string }
  /** Berth failed (the store, a crash): retried like capacity. */
  | { kind: "failed"; reason: string };

export interface AfterRun extends FireState {
  /** Why the owed fire was given up, if it was. */
  dropped?: string;
  /** No fire is left: a one-time schedule ran, or a recurring one passed its EndDate. */
  complete: boolean;
}

export interface OwedFire {
  definition: ScheduleDefinition;
  expression: ScheduleExpression;
  scheduleArn: string;
  /** When the definition was written (the anchor of a rate without StartDate). */
  definedAt: number;
  fireAt: number;
  attempt: number;
}

/** Fire times after the owed one that passed by `now`: missed, never run (at most `limit`). */
export function missedSince(owed: OwedFire, now: number, limit = 1000): number {
  const window = windowOf(owed.definition, owed.definedAt);
  let count = 0;
  let at: number | undefined = owed.fireAt;
  while (count < limit) {
    at = nextFireTime(owed.expression, window, at);
    if (at === undefined || at > now) break;
    count++;
  }
  return count;
}

/** Whether the owed fire is too old to run at all (MaximumEventAgeInSeconds). */
export function tooOld(owed: OwedFire, now: number): boolean {
  const maxAge =
    owed.definition.Target.RetryPolicy?.MaximumEventAgeInSeconds ??
    DEFAULT_RETRY.MaximumEventAgeInSeconds;
  return now - owed.fireAt > maxAge * 1000;
}

/** What the schedule owes after a run (or a drop) of `owed` at `now`. */
export function afterRun(owed: OwedFire, outcome: RunOutcome | "too-old", now: number): AfterRun {
  const maxAttempts =
    owed.definition.Target.RetryPolicy?.MaximumRetryAttempts ?? DEFAULT_RETRY.MaximumRetryAttempts;
  const retryable =
    outcome !== "too-old" && (outcome.kind === "no-capacity" || outcome.kind === "failed");
  if (retryable && owed.attempt < maxAttempts) {
    const backoff = Math.min(1000 * 2 ** owed.attempt, MAX_BACKOFF_MS);
    return {
      nextFireAt: owed.fireAt,
      dueAt: now + backoff,
      attempt: owed.attempt + 1,
      complete: false,
    };
  }
  // On to the first fire time after now: those that passed meanwhile are not run.
  const next = nextFireTime(
    owed.expression,
    windowOf(owed.definition, owed.definedAt),
    Math.max(owed.fireAt, now),
  );
  const state: AfterRun = {
    nextFireAt: next ?? null,
    dueAt: next === undefined ? null : dueAtOf(owed.definition, owed.scheduleArn, next),
    attempt: 0,
    complete: next === undefined,
  };
  if (outcome === "too-old") state.dropped = "older than MaximumEventAgeInSeconds";
  else if (outcome.kind === "refused") state.dropped = outcome.reason;
  else if (retryable)
    state.dropped = `${outcome.reason}; gave up after ${owed.attempt} retries (MaximumRetryAttempts)`;
  return state;
}
