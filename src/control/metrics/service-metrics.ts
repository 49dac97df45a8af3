/**
 * CloudWatch's ECS metrics, computed here from the agents' samples: one datapoint per period
 * (60 s as CloudWatch publishes them, or `--metric-period-seconds`) for every task and service.
 * A service's CPUUtilization is the CPU its tasks used over the period divided by the CPU they
 * reserve, x 100; MemoryUtilization likewise. Tasks with no samples in the period count in
 * neither sum (CloudWatch has no data from them); a service with none has no datapoint.
 * Requests per target group come from the load balancer as cumulative counters; per target,
 * they are divided by the group's registered targets that are not draining. TargetResponseTime
 * per target group (and over a service's groups) comes from the load balancer's cumulative
 * histograms the same way: the period's share is the difference of two readings.
 */
import type { Store } from "../../store/index.js";
import { readService } from "../service-state.js";
import {
  responseTimeStats,
  type ResponseTimeStats,
  type ResponseTimeTotals,
} from "./response-times.js";
import { containerSeriesKey, type TaskUse, type UsageSeries } from "./usage-series.js";

/** What the load balancer tells: requests so far per target group ARN (cumulative). */
export interface RequestCountSource {
  requestCounts(): Map<string, number>;
  /** TargetResponseTime so far per target group ARN (cumulative histograms). */
  responseTimes?(): Map<string, ResponseTimeTotals>;
}

export interface TaskDatapoint {
  taskArn: string;
  cluster: string;
  /** The service the task belongs to, if any. */
  service?: string;
  lastStatus: string;
  /** Reserved CPU units and MiB. */
  cpu: number;
  memory: number;
  /** Percent of the reservation used over the period; undefined without samples. */
  cpuUtilization?: number;
  memoryUtilization?: number;
  /** Each container's own use over the period (containers may reserve no CPU of their own). */
  containers: Array<{ name: string } & TaskUse>;
}

export interface ServiceDatapoint {
  cluster: string;
  service: string;
  desiredCount: number;
  runningCount: number;
  pendingCount: number;
  cpuUtilization?: number;
  memoryUtilization?: number;
  /** Requests its target groups received over the period, and per registered target. */
  requestCount?: number;
  requestCountPerTarget?: number;
  /** TargetResponseTime over its target groups' answers in the period; none without answers. */
  targetResponseTime?: ResponseTimeStats;
}

export interface TargetGroupDatapoint {
  total: number;
  inPeriod: number;
  /** Targets registered and not draining at the end of the period. */
  targets: number;
  /** TargetResponseTime over the period's answers; none without answers. */
  responseTime?: ResponseTimeStats;
}

export interface MetricsSnapshot {
  /** The end of the period (epoch ms) and its length. */
  at: number;
  periodMs: number;
  tasks: TaskDatapoint[];
  services: ServiceDatapoint[];
  /** Per target group: requests so far, over the period, and its registered targets. */
  targetGroups: Map<string, TargetGroupDatapoint>;
}

export const serviceKey = (cluster: string, service: string): string => `${cluster}/${service}`;

export class ServiceMetrics {
  #previousCounts = new Map<string, number>();
  #previousTimes = new Map<string, ResponseTimeTotals>();
  /** This period's pairs of readings per target group, for the services' own statistics. */
  #timePairs = new Map<string, { before?: ResponseTimeTotals; after: ResponseTimeTotals }>();
  #latest: MetricsSnapshot | undefined;

  constructor(
    private readonly options: {
      store: Store;
      series: UsageSeries;
      periodMs: number;
      requests?: RequestCountSource;
    },
  ) {}

  /** The last period's datapoints; undefined before the first period ends. */
  get latest(): MetricsSnapshot | undefined {
    return this.#latest;
  }

  /** Closes the period ending at `now`: computes every datapoint of it. */
  async collect(now: number): Promise<MetricsSnapshot> {
    const { store, series, periodMs } = this.options;
    series.prune(now);
    const from = now - periodMs;
    const taskRows = await store
      .selectFrom("tasks")
      .select(["arn", "cluster_name", "group_name", "last_status", "cpu", "memory"])
      .where("last_status", "!=", "STOPPED")
      .execute();
    const tasks: TaskDatapoint[] = [];
    const sums = new Map<string, { cpuUsed: number; cpu: number; memUsed: number; mem: number }>();
    for (const row of taskRows) {
      const service = row.group_name.startsWith("service:") ? row.group_name.slice(8) : undefined;
      const use = series.use(row.arn, from, now);
      const containers = series.containersOf(row.arn).flatMap((name) => {
        const own = series.use(containerSeriesKey(row.arn, name), from, now);
        return own === undefined ? [] : [{ name, ...own }];
      });
      tasks.push({
        containers,
        taskArn: row.arn,
        cluster: row.cluster_name,
        ...(service === undefined ? {} : { service }),
        lastStatus: row.last_status,
        cpu: row.cpu,
        memory: row.memory,
        ...(use === undefined
          ? {}
          : {
              cpuUtilization: (use.cpuUnits / row.cpu) * 100,
              memoryUtilization: (use.memoryMiB / row.memory) * 100,
            }),
      });
      if (service === undefined || use === undefined) continue;
      const key = serviceKey(row.cluster_name, service);
      const sum = sums.get(key) ?? { cpuUsed: 0, cpu: 0, memUsed: 0, mem: 0 };
      sum.cpuUsed += use.cpuUnits;
      sum.cpu += row.cpu;
      sum.memUsed += use.memoryMiB;
      sum.mem += row.memory;
      sums.set(key, sum);
    }

    const targetGroups = await this.#requestsInPeriod();
    const serviceRows = await store
      .selectFrom("services")
      .select(["cluster_name", "name", "status", "desired_count", "document"])
      .where("status", "!=", "INACTIVE")
      .execute();
    const services: ServiceDatapoint[] = serviceRows.map((row) => {
      const own = tasks.filter((t) => t.cluster === row.cluster_name && t.service === row.name);
      const running = own.filter((t) => t.lastStatus === "RUNNING").length;
      const sum = sums.get(serviceKey(row.cluster_name, row.name));
      const groups = (readService(row).service.loadBalancers ?? []).flatMap((lb) =>
        lb.targetGroupArn === undefined ? [] : [lb.targetGroupArn],
      );
      const measured = groups.flatMap((arn) => targetGroups.get(arn) ?? []);
      const requests =
        measured.length === 0 ? undefined : measured.reduce((n, g) => n + g.inPeriod, 0);
      const targets = measured.reduce((n, g) => n + g.targets, 0);
      const responseTime = responseTimeStats(
        groups.flatMap((arn) => this.#timePairs.get(arn) ?? []),
      );
      return {
        cluster: row.cluster_name,
        service: row.name,
        desiredCount: row.desired_count,
        runningCount: running,
        pendingCount: own.length - running,
        ...(sum === undefined
          ? {}
          : {
              cpuUtilization: (sum.cpuUsed / sum.cpu) * 100,
              memoryUtilization: (sum.memUsed / sum.mem) * 100,
            }),
        ...(requests === undefined
          ? {}
          : {
              requestCount: requests,
              ...(targets > 0 ? { requestCountPerTarget: requests / targets } : {}),
            }),
        ...(responseTime === undefined ? {} : { targetResponseTime: responseTime }),
      };
    });
    this.#latest = { at: now, periodMs, tasks, services, targetGroups };
    return this.#latest;
  }

  /**
   * Each target group's requests since the last period (a counter that went back restarted),
   * and its targets as ELB counts them for RequestCountPerTarget: registered, not draining.
   */
  async #requestsInPeriod(): Promise<Map<string, TargetGroupDatapoint>> {
    const counts = this.options.requests?.requestCounts() ?? new Map<string, number>();
    const times = this.options.requests?.responseTimes?.() ?? new Map<string, ResponseTimeTotals>();
    this.#timePairs = new Map(
      [...times].map(([arn, after]) => [arn, { before: this.#previousTimes.get(arn), after }]),
    );
    this.#previousTimes = times;
    const out = new Map<string, TargetGroupDatapoint>();
    const rows =
      counts.size === 0
        ? []
        : await this.options.store
            .selectFrom("elb_targets")
            .select(["target_group_arn", (eb) => eb.fn.countAll<number>().as("targets")])
            .where("target_group_arn", "in", [...counts.keys()])
            .where("draining_until", "is", null)
            .groupBy("target_group_arn")
            .execute();
    const targets = new Map(rows.map((r) => [r.target_group_arn, Number(r.targets)]));
    for (const [arn, total] of counts) {
      const before = this.#previousCounts.get(arn) ?? 0;
      const pair = this.#timePairs.get(arn);
      const responseTime = pair === undefined ? undefined : responseTimeStats([pair]);
      out.set(arn, {
        total,
        inPeriod: total >= before ? total - before : total,
        targets: targets.get(arn) ?? 0,
        ...(responseTime === undefined ? {} : { responseTime }),
      });
    }
    this.#previousCounts = new Map(counts);
    return out;
  }
}
