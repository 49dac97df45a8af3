/**
 * `berth top`: services and tasks with their CPU%, memory%, desired/running counts and
 * requests per second, refreshed every few seconds — read from the Berth's `GET /metrics`
 * (the last metric period's datapoints).
 */
import { parseArgs } from "node:util";
import { METRICS_PATH } from "../server/index.js";
import { resolveEndpoint } from "./config.js";

export const TOP_USAGE = `Usage: berth top [--interval 2] [--once] [--endpoint URL]`;

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Prometheus text samples (comments skipped). */
export function parsePrometheusText(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match === null) continue;
    const labels: Record<string, string> = {};
    for (const [, key = "", value = ""] of (match[2] ?? "").matchAll(
      /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g,
    ))
      labels[key] = value.replace(/\\n/g, "\n").replace(/\\(["\\])/g, "$1");
    samples.push({ name: match[1] ?? "", labels, value: Number(match[3]) });
  }
  return samples;
}

const percent = (value: number | undefined): string =>
  value === undefined ? "-" : value.toFixed(1);

/** The table `berth top` prints for one scrape. */
export function renderTop(samples: Sample[]): string {
  const period = samples.find((s) => s.name === "berth_metric_period_seconds")?.value ?? 60;
  const value = (name: string, labels: Record<string, string>): number | undefined =>
    samples.find(
      (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
    )?.value;
  const services = samples
    .filter((s) => s.name === "berth_service_desired_tasks")
    .map((s) => s.labels);
  const lines = [
    `${"SERVICE".padEnd(32)} ${"DESIRED".padStart(7)} ${"RUNNING".padStart(7)} ${"PENDING".padStart(7)} ${"CPU%".padStart(6)} ${"MEM%".padStart(6)} ${"REQ/S".padStart(8)}`,
  ];
  for (const labels of services) {
    const key = { cluster: labels.cluster ?? "", service: labels.service ?? "" };
    const requests = value("berth_service_request_count", key);
    lines.push(
      [
        `${key.cluster}/${key.service}`.padEnd(32),
        String(value("berth_service_desired_tasks", key) ?? 0).padStart(7),
        String(value("berth_service_running_tasks", key) ?? 0).padStart(7),
        String(value("berth_service_pending_tasks", key) ?? 0).padStart(7),
        percent(value("berth_service_cpu_utilization_percent", key)).padStart(6),
        percent(value("berth_service_memory_utilization_percent", key)).padStart(6),
        (requests === undefined ? "-" : (requests / period).toFixed(1)).padStart(8),
      ].join(" "),
    );
  }
  lines.push(
    "",
    `${"TASK".padEnd(45)} ${"SERVICE".padEnd(20)} ${"CPU%".padStart(6)} ${"MEM%".padStart(6)}`,
  );
  for (const s of samples.filter((x) => x.name === "berth_task_cpu_reserved_units")) {
    const key = { cluster: s.labels.cluster ?? "", task: s.labels.task ?? "" };
    lines.push(
      [
        `${key.cluster}/${key.task}`.padEnd(45),
        (s.labels.service || "-").padEnd(20),
        percent(value("berth_task_cpu_utilization_percent", key)).padStart(6),
        percent(value("berth_task_memory_utilization_percent", key)).padStart(6),
      ].join(" "),
    );
  }
  return lines.join("\n") + "\n";
}

export async function top(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      endpoint: { type: "string" },
      interval: { type: "string", default: "2" },
      once: { type: "boolean", default: false },
    },
    strict: true,
  });
  const interval = Number(values.interval);
  if (!(interval >= 0.5)) {
    process.stderr.write("berth top: --interval takes seconds, at least 0.5.\n");
    return 2;
  }
  const endpoint = resolveEndpoint({ endpoint: values.endpoint }, env);
  const redraw = process.stdout.isTTY && !values.once;
  for (;;) {
    const res = await fetch(new URL(METRICS_PATH, endpoint)).catch(() => undefined);
    if (res === undefined || !res.ok) {
      process.stderr.write(
        `berth top: Berth at ${endpoint} is not answering /metrics. Start it with \`berth up\`, or pass --endpoint.\n`,
      );
      return 1;
    }
    const table = renderTop(parsePrometheusText(await res.text()));
    process.stdout.write(redraw ? `\x1b[H\x1b[2J${table}` : table);
    if (values.once) return 0;
    await new Promise((resolve) => setTimeout(resolve, interval * 1000));
  }
}
