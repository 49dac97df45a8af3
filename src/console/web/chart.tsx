/**
 * Metrics as charts (inline SVG: no script or style the CSP would refuse): CPU and memory
 * utilization, a service's desired, pending and running tasks, and requests and
 * TargetResponseTime where a load balancer serves them (a service's or one target group's),
 * over a window the reader picks.
 */
import { useState } from "preact/hooks";
import { getJson, useLive } from "./api.js";
import { Failure } from "./components.js";
import type { MetricsPoint } from "../metrics-history.js";

/** TargetResponseTime (`latency`) is in milliseconds here (the API's are seconds, as CloudWatch's). */
type Point = MetricsPoint;

const WINDOWS: [number, string][] = [
  [15, "15 minutes"],
  [60, "1 hour"],
  [360, "6 hours"],
  [1440, "24 hours"],
];
const W = 600;
const H = 150;
const PAD = 30;

function Line(props: {
  title: string;
  unit: string;
  points: Point[];
  series: { key: keyof Point; label: string; className: string }[];
  from: number;
  to: number;
  max?: number;
}) {
  const values = props.points.flatMap((p) => props.series.map((s) => p[s.key] ?? 0));
  const max = props.max ?? Math.max(1, ...values);
  const x = (at: number): number =>
    PAD + ((at - props.from) / Math.max(1, props.to - props.from)) * (W - PAD - 5);
  const y = (v: number): number => H - PAD + 10 - (v / max) * (H - PAD);
  const last = props.points[props.points.length - 1];
  const summary = props.series
    .map(
      (s) =>
        `${s.label} ${last?.[s.key] === undefined ? "no data" : `${(last[s.key] ?? 0).toFixed(1)}${props.unit}`}`,
    )
    .join(", ");
  return (
    <figure class="chart">
      <figcaption>
        {props.title} <span class="muted">(latest: {summary})</span>
      </figcaption>
      <svg
        viewBox={`0 0 ${W} ${H}`}
        role="img"
        aria-label={`${props.title}; latest ${summary}`}
        data-points={
          props.points.filter((p) => p[props.series[0]?.key ?? "at"] !== undefined).length
        }
        data-latest={last?.[props.series[0]?.key ?? "at"]}
      >
        <line x1={PAD} y1={y(0)} x2={W - 5} y2={y(0)} class="axis" />
        <line x1={PAD} y1={y(max)} x2={W - 5} y2={y(max)} class="grid" />
        <text x={2} y={y(max) + 4} class="tick">
          {max.toFixed(0)}
        </text>
        <text x={2} y={y(0) + 4} class="tick">
          0
        </text>
        <text x={PAD} y={H - 2} class="tick">
          {new Date(props.from).toISOString().slice(11, 16)}Z
        </text>
        <text x={W - 40} y={H - 2} class="tick">
          {new Date(props.to).toISOString().slice(11, 16)}Z
        </text>
        {props.series.map((s) => {
          const pts = props.points.filter((p) => p[s.key] !== undefined);
          return (
            <polyline
              key={s.key}
              class={`series ${s.className}`}
              points={pts
                .map((p) => `${x(p.at).toFixed(1)},${y(p[s.key] ?? 0).toFixed(1)}`)
                .join(" ")}
            />
          );
        })}
      </svg>
      <p class="legend">
        {props.series.map((s) => (
          <span key={s.key} class={`key ${s.className}`}>
            {s.label}
          </span>
        ))}
      </p>
    </figure>
  );
}

const toMs = (seconds: number | undefined): number | undefined =>
  seconds === undefined ? undefined : seconds * 1000;

/**
 * A service's (cluster and service), a task's (taskArn) or a target group's (targetGroupArn,
 * requests and response time only) metrics, live.
 */
export function MetricsCharts(props: {
  cluster?: string;
  service?: string;
  taskArn?: string;
  targetGroupArn?: string;
  /** The section's heading (default "Metrics"); a target group's is one of several. */
  title?: string;
}) {
  const [minutes, setMinutes] = useState(60);
  const query =
    props.taskArn !== undefined
      ? `task=${encodeURIComponent(props.taskArn)}`
      : props.targetGroupArn !== undefined
        ? `targetGroup=${encodeURIComponent(props.targetGroupArn)}`
        : `cluster=${encodeURIComponent(props.cluster ?? "")}&service=${encodeURIComponent(props.service ?? "")}`;
  const headingId = `metrics-${query.replace(/[^A-Za-z0-9]/g, "-")}`;
  const { data, error } = useLive(
    async () => {
      const answer = await getJson<{ periodMs: number; points: Point[] }>(
        `metrics?${query}&minutes=${minutes}`,
      );
      const points = answer.points.map((p) => {
        const ms: Point = { ...p };
        for (const key of ["latency", "latencyP90", "latencyP99"] as const) {
          const value = toMs(p[key]);
          if (value === undefined) delete ms[key];
          else ms[key] = value;
        }
        return ms;
      });
      return { periodMs: answer.periodMs, points, now: Date.now() };
    },
    [query, minutes],
    (change) => change.kinds.includes("metrics"),
  );
  const points = data?.points ?? [];
  // The time axis spans the data when it covers less than the window (a young service).
  const to = data?.now ?? Date.now();
  const from = Math.max(to - minutes * 60_000, points[0]?.at ?? 0);
  // What every chart draws over: the same points and time axis.
  const span = { points, from, to };
  const hasRequests = points.some((p) => p.requests !== undefined);
  const hasCounts = points.some((p) => p.running !== undefined);
  const hasLatency = points.some((p) => p.latency !== undefined);
  const ofTargetGroup = props.targetGroupArn !== undefined;
  const Heading = ofTargetGroup ? "h3" : "h2";
  return (
    <section aria-labelledby={headingId} class="metrics">
      <Heading id={headingId}>{props.title ?? "Metrics"}</Heading>
      <div class="filters">
        <label>
          Window{" "}
          <select
            value={String(minutes)}
            onChange={(e) => setMinutes(Number(e.currentTarget.value))}
          >
            {WINDOWS.map(([m, label]) => (
              <option value={String(m)}>{label}</option>
            ))}
          </select>
        </label>
        <span class="muted">
          {points.length} datapoints, one per {Math.round((data?.periodMs ?? 60_000) / 1000)} s
        </span>
      </div>
      <Failure error={error} />
      <div class="charts">
        {ofTargetGroup ? null : (
          <Line
            title="Utilization"
            unit="%"
            {...span}
            series={[
              { key: "cpu", label: "CPU", className: "s-cpu" },
              { key: "memory", label: "Memory", className: "s-mem" },
            ]}
          />
        )}
        {hasCounts ? (
          <Line
            title="Tasks"
            unit=""
            {...span}
            series={[
              { key: "desired", label: "Desired", className: "s-desired" },
              { key: "pending", label: "Pending", className: "s-pending" },
              { key: "running", label: "Running", className: "s-running" },
            ]}
          />
        ) : null}
        {hasRequests ? (
          <Line
            title="Requests per period"
            unit=""
            {...span}
            series={[{ key: "requests", label: "Requests", className: "s-req" }]}
          />
        ) : null}
        {hasLatency || ofTargetGroup ? (
          <Line
            title="Target response time"
            unit=" ms"
            {...span}
            series={[
              { key: "latency", label: "Average", className: "s-latency" },
              { key: "latencyP90", label: "p90", className: "s-latency-p90" },
              { key: "latencyP99", label: "p99", className: "s-latency-p99" },
            ]}
          />
        ) : null}
      </div>
    </section>
  );
}
