/**
 * What the console charts: each metric period's datapoints (computed by the control plane's
 * ServiceMetrics, as auto scaling reads them) kept per service and per task for a day, in
 * memory. CloudWatch keeps more; a restarted server starts its charts empty.
 */

/** The part of a metrics snapshot the console keeps (control's MetricsSnapshot fits it). */
export interface MetricsPeriod {
  at: number;
  periodMs: number;
  tasks: readonly { taskArn: string; cpuUtilization?: number; memoryUtilization?: number }[];
  services: readonly {
    cluster: string;
    service: string;
    runningCount: number;
    cpuUtilization?: number;
    memoryUtilization?: number;
    requestCount?: number;
  }[];
}

export interface MetricsPoint {
  at: number;
  cpu?: number;
  memory?: number;
  requests?: number;
  running?: number;
}

export const HISTORY_MS = 24 * 60 * 60 * 1000;

export class MetricsHistory {
  readonly #series = new Map<string, MetricsPoint[]>();
  #last = 0;
  #periodMs = 60_000;

  /** Records a period once (the same snapshot seen again changes nothing); true if new. */
  record(period: MetricsPeriod | undefined): boolean {
    if (period === undefined || period.at <= this.#last) return false;
    this.#last = period.at;
    this.#periodMs = period.periodMs;
    const add = (key: string, point: MetricsPoint): void => {
      const list = this.#series.get(key) ?? [];
      list.push(point);
      while (list.length > 0 && (list[0]?.at ?? 0) < period.at - HISTORY_MS) list.shift();
      this.#series.set(key, list);
    };
    for (const s of period.services)
      add(`service:${s.cluster}/${s.service}`, {
        at: period.at,
        running: s.runningCount,
        ...(s.cpuUtilization === undefined ? {} : { cpu: s.cpuUtilization }),
        ...(s.memoryUtilization === undefined ? {} : { memory: s.memoryUtilization }),
        ...(s.requestCount === undefined ? {} : { requests: s.requestCount }),
      });
    for (const t of period.tasks)
      add(`task:${t.taskArn}`, {
        at: period.at,
        ...(t.cpuUtilization === undefined ? {} : { cpu: t.cpuUtilization }),
        ...(t.memoryUtilization === undefined ? {} : { memory: t.memoryUtilization }),
      });
    // Series nothing fed for a day (deleted services, stopped tasks) go.
    for (const [key, list] of this.#series)
      if ((list[list.length - 1]?.at ?? 0) < period.at - HISTORY_MS) this.#series.delete(key);
    return true;
  }

  /** A service's or a task's points since `since` (epoch ms). */
  points(
    of: { cluster: string; service: string } | { taskArn: string },
    since: number,
  ): { periodMs: number; points: MetricsPoint[] } {
    const key = "taskArn" in of ? `task:${of.taskArn}` : `service:${of.cluster}/${of.service}`;
    return {
      periodMs: this.#periodMs,
      points: (this.#series.get(key) ?? []).filter((p) => p.at >= since),
    };
  }
}
