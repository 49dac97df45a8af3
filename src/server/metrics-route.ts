/**
 * `GET /metrics`: the last metric period's datapoints in Prometheus's text format (0.0.4), for
 * Prometheus and for `berth top`. No authentication, as Prometheus scrapes: it shows resource
 * names and numbers only, and the listener is on loopback unless `--host` says otherwise.
 */
import type { ServerResponse } from "node:http";
import type { MetricsSnapshot } from "../control/index.js";

export const METRICS_PATH = "/metrics";
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

type Labels = Record<string, string>;

const escape = (value: string): string =>
  value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");

class Exposition {
  readonly #lines: string[] = [];

  family(
    name: string,
    type: "gauge" | "counter",
    help: string,
    samples: Array<[Labels, number | undefined]>,
  ): void {
    this.#lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) {
      if (value === undefined || !Number.isFinite(value)) continue;
      const text = Object.entries(labels)
        .map(([k, v]) => `${k}="${escape(v)}"`)
        .join(",");
      this.#lines.push(`${name}${text === "" ? "" : `{${text}}`} ${value}`);
    }
  }

  toString(): string {
    return this.#lines.join("\n") + "\n";
  }
}

export function renderMetrics(snapshot: MetricsSnapshot | undefined, periodMs: number): string {
  const out = new Exposition();
  out.family("berth_metric_period_seconds", "gauge", "Length of one metric period.", [
    [{}, periodMs / 1000],
  ]);
  if (snapshot === undefined) return out.toString();
  const taskLabels = (t: MetricsSnapshot["tasks"][number]): Labels => ({
    cluster: t.cluster,
    service: t.service ?? "",
    task: t.taskArn.split("/").pop() ?? t.taskArn,
  });
  const tasks = snapshot.tasks;
  out.family(
    "berth_task_cpu_utilization_percent",
    "gauge",
    "CPU a task used over the last period, as a percentage of its reserved CPU.",
    tasks.map((t) => [taskLabels(t), t.cpuUtilization]),
  );
  out.family(
    "berth_task_memory_utilization_percent",
    "gauge",
    "Memory a task used over the last period, as a percentage of its reserved memory.",
    tasks.map((t) => [taskLabels(t), t.memoryUtilization]),
  );
  out.family(
    "berth_task_cpu_reserved_units",
    "gauge",
    "CPU units a task reserves (1024 = one vCPU).",
    tasks.map((t) => [taskLabels(t), t.cpu]),
  );
  out.family(
    "berth_task_memory_reserved_mib",
    "gauge",
    "Memory a task reserves, in MiB.",
    tasks.map((t) => [taskLabels(t), t.memory]),
  );
  const containers = tasks.flatMap((t) =>
    t.containers.map((c) => ({ labels: { ...taskLabels(t), container: c.name }, use: c })),
  );
  out.family(
    "berth_container_cpu_units",
    "gauge",
    "CPU units a container used over the last period (1024 = one vCPU busy).",
    containers.map((c) => [c.labels, c.use.cpuUnits]),
  );
  out.family(
    "berth_container_memory_mib",
    "gauge",
    "Memory a container used over the last period, in MiB (mean of the samples).",
    containers.map((c) => [c.labels, c.use.memoryMiB]),
  );
  const services = snapshot.services;
  const serviceLabels = (s: MetricsSnapshot["services"][number]): Labels => ({
    cluster: s.cluster,
    service: s.service,
  });
  const gauge = (
    name: string,
    help: string,
    value: (s: MetricsSnapshot["services"][number]) => number | undefined,
  ): void =>
    out.family(
      name,
      "gauge",
      help,
      services.map((s) => [serviceLabels(s), value(s)]),
    );
  gauge(
    "berth_service_cpu_utilization_percent",
    "ECS CPUUtilization: CPU the service's tasks used / CPU they reserve x 100, last period.",
    (s) => s.cpuUtilization,
  );
  gauge(
    "berth_service_memory_utilization_percent",
    "ECS MemoryUtilization: memory the service's tasks used / memory they reserve x 100.",
    (s) => s.memoryUtilization,
  );
  gauge("berth_service_desired_tasks", "The service's desired count.", (s) => s.desiredCount);
  gauge("berth_service_running_tasks", "The service's RUNNING tasks.", (s) => s.runningCount);
  gauge(
    "berth_service_pending_tasks",
    "The service's tasks not yet RUNNING.",
    (s) => s.pendingCount,
  );
  gauge(
    "berth_service_request_count",
    "Requests the service's target groups received over the last period.",
    (s) => s.requestCount,
  );
  gauge(
    "berth_service_request_count_per_target",
    "ALBRequestCountPerTarget: requests over the last period per registered target.",
    (s) => s.requestCountPerTarget,
  );
  gauge(
    "berth_service_target_response_time_seconds",
    "ELB TargetResponseTime (Average) over the service's target groups, last period.",
    (s) => s.targetResponseTime?.average,
  );
  out.family(
    "berth_target_group_target_response_time_seconds",
    "gauge",
    "ELB TargetResponseTime (Average) of a target group's answers over the last period.",
    [...snapshot.targetGroups].map(([arn, g]) => [{ target_group: arn }, g.responseTime?.average]),
  );
  out.family(
    "berth_target_group_requests_total",
    "counter",
    "Requests the load balancer forwarded to a target group.",
    [...snapshot.targetGroups].map(([arn, counts]) => [{ target_group: arn }, counts.total]),
  );
  return out.toString();
}

export function serveMetrics(
  res: ServerResponse,
  snapshot: MetricsSnapshot | undefined,
  periodMs: number,
): void {
  const body = renderMetrics(snapshot, periodMs);
  res.writeHead(200, {
    "Content-Type": PROMETHEUS_CONTENT_TYPE,
    "Content-Length": Buffer.byteLength(body),
  });
  res.end(body);
}
