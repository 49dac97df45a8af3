/**
 * What the console charts: each metric period's datapoints (computed by the control plane's
 * ServiceMetrics, as auto scaling reads them) per service, per task and per target group (its
 * requests and TargetResponseTime), kept in the store
 * (`metric_datapoints`): the server that closed the period (the leader) writes them, every
 * server reads them, and a restart loses none. Rows are pruned past CloudWatch's retention for
 * their resolution, capped at the charts' longest window.
 */
import type { MetricDatapointTable, Store } from "../store/index.js";

/** The part of a metrics snapshot the console keeps (control's MetricsSnapshot fits it). */
export interface MetricsPeriod {
  at: number;
  periodMs: number;
  tasks: readonly { taskArn: string; cpuUtilization?: number; memoryUtilization?: number }[];
  services: readonly {
    cluster: string;
    service: string;
    runningCount: number;
    pendingCount: number;
    desiredCount: number;
    cpuUtilization?: number;
    memoryUtilization?: number;
    requestCount?: number;
    targetResponseTime?: ResponseTimes;
  }[];
  /** Per target group ARN: requests in the period and their TargetResponseTime. */
  targetGroups?: ReadonlyMap<string, { inPeriod: number; responseTime?: ResponseTimes }>;
}

/** TargetResponseTime statistics in seconds (control's ResponseTimeStats fits it). */
interface ResponseTimes {
  average: number;
  p90: number;
  p99: number;
}

export interface MetricsPoint {
  at: number;
  cpu?: number;
  memory?: number;
  requests?: number;
  running?: number;
  pending?: number;
  desired?: number;
  /** TargetResponseTime, seconds. */
  latency?: number;
  latencyP90?: number;
  latencyP99?: number;
}

/** The charts' longest window. */
export const HISTORY_MS = 24 * 60 * 60 * 1000;
/** CloudWatch keeps sub-minute (high-resolution) datapoints 3 hours. */
const HIGH_RESOLUTION_MS = 3 * 60 * 60 * 1000;

/**
 * How long a period's datapoints are kept. CloudWatch keeps 60-second datapoints 15 days;
 * Berth keeps them as long as a chart can show (24 h): one row per task per minute adds up.
 */
export function retentionMs(periodMs: number): number {
  return periodMs < 60_000 ? HIGH_RESOLUTION_MS : HISTORY_MS;
}

/** Rows per INSERT: well under both engines' bound-parameter limits. */
const CHUNK = 500;

type Row = MetricDatapointTable;

const serviceKey = (cluster: string, service: string): string => `service:${cluster}/${service}`;
const taskKey = (taskArn: string): string => `task:${taskArn}`;
const targetGroupKey = (arn: string): string => `targetgroup:${arn}`;

const latencyColumns = (
  times: ResponseTimes | undefined,
): Pick<Row, "response_time" | "response_time_p90" | "response_time_p99"> => ({
  response_time: times?.average ?? null,
  response_time_p90: times?.p90 ?? null,
  response_time_p99: times?.p99 ?? null,
});

const NO_LATENCY = latencyColumns(undefined);

export class MetricsHistory {
  #last = 0;
  #lastPrune = 0;

  constructor(private readonly store: Store) {}

  /**
   * Records a period once (the same snapshot seen again changes nothing, nor does a period
   * another server already wrote); true if it was new to this server.
   */
  async record(period: MetricsPeriod | undefined): Promise<boolean> {
    if (period === undefined || period.at <= this.#last) return false;
    this.#last = period.at;
    const base = { at: period.at, period_ms: period.periodMs };
    const rows: Row[] = [];
    for (const s of period.services)
      rows.push({
        ...base,
        series_key: serviceKey(s.cluster, s.service),
        cpu: s.cpuUtilization ?? null,
        memory: s.memoryUtilization ?? null,
        requests: s.requestCount ?? null,
        running: s.runningCount,
        pending: s.pendingCount,
        desired: s.desiredCount,
        ...latencyColumns(s.targetResponseTime),
      });
    for (const [arn, group] of period.targetGroups ?? [])
      rows.push({
        ...base,
        series_key: targetGroupKey(arn),
        cpu: null,
        memory: null,
        requests: group.inPeriod,
        running: null,
        pending: null,
        desired: null,
        ...latencyColumns(group.responseTime),
      });
    // A task without samples in the period has no datapoint (CloudWatch has none either).
    for (const t of period.tasks)
      if (t.cpuUtilization !== undefined || t.memoryUtilization !== undefined)
        rows.push({
          ...base,
          series_key: taskKey(t.taskArn),
          cpu: t.cpuUtilization ?? null,
          memory: t.memoryUtilization ?? null,
          requests: null,
          running: null,
          pending: null,
          desired: null,
          ...NO_LATENCY,
        });
    for (let i = 0; i < rows.length; i += CHUNK)
      await this.store
        .insertInto("metric_datapoints")
        .values(rows.slice(i, i + CHUNK))
        // Two servers that both closed this period (a lease changing hands) write it once.
        .onConflict((oc) => oc.columns(["series_key", "at"]).doNothing())
        .execute();
    const keep = retentionMs(period.periodMs);
    if (period.at - this.#lastPrune >= Math.min(keep / 12, 15 * 60_000)) {
      this.#lastPrune = period.at;
      await this.store
        .deleteFrom("metric_datapoints")
        .where("at", "<", period.at - keep)
        .execute();
    }
    return true;
  }

  /** A service's, a task's or a target group's points since `since` (epoch ms), oldest first. */
  async points(
    of: { cluster: string; service: string } | { taskArn: string } | { targetGroupArn: string },
    since: number,
  ): Promise<{ periodMs: number; points: MetricsPoint[] }> {
    const key =
      "taskArn" in of
        ? taskKey(of.taskArn)
        : "targetGroupArn" in of
          ? targetGroupKey(of.targetGroupArn)
          : serviceKey(of.cluster, of.service);
    const rows = await this.store
      .selectFrom("metric_datapoints")
      .selectAll()
      .where("series_key", "=", key)
      .where("at", ">=", since)
      .orderBy("at")
      .execute();
    const points = rows.map((row) => {
      const point: MetricsPoint = { at: Number(row.at) };
      for (const name of ["cpu", "memory", "requests", "running", "pending", "desired"] as const) {
        const value = row[name];
        if (value !== null) point[name] = Number(value);
      }
      if (row.response_time !== null) point.latency = Number(row.response_time);
      if (row.response_time_p90 !== null) point.latencyP90 = Number(row.response_time_p90);
      if (row.response_time_p99 !== null) point.latencyP99 = Number(row.response_time_p99);
      return point;
    });
    return { periodMs: rows.at(-1)?.period_ms ?? 60_000, points };
  }
}
