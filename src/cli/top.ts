/**
 * `berth top`: services and tasks with their CPU%, memory%, desired/running counts and
 * requests per second, refreshed every few seconds — read from the Berth's `GET /metrics`
 * (the last metric period's datapoints).
 */
import { BerthError } from "../core/index.js";
import { invalidArgument } from "./errors.js";
import { METRICS_PATH } from "../server/index.js";
import { defineCommand } from "./command.js";
import { CLIENT_FLAGS, resolveEndpoint } from "./config.js";

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

export const top = defineCommand({
  name: "top",
  summary: "services and tasks with CPU%, memory%, counts and requests/s, refreshing",
  usage: ["berth top [--interval SECONDS] [--once]"],
  description:
    "Reads the Berth's GET /metrics (the last metric period's datapoints; no credentials needed).\nPress q (or Ctrl-C) to quit.",
  flags: {
    interval: { type: "string", value: "SECONDS", default: "2", help: "time between refreshes" },
    once: { type: "boolean", help: "print the table once and exit" },
    endpoint: CLIENT_FLAGS.endpoint,
  },
  run: async ({ flags }, env) => {
    const interval = Number(flags.interval);
    if (!(interval >= 0.5)) throw invalidArgument("--interval takes seconds, at least 0.5");
    const endpoint = resolveEndpoint({ endpoint: flags.endpoint }, env);
    const redraw = process.stdout.isTTY && !flags.once;
    const quit = flags.once ? undefined : quitKeys();
    try {
      for (;;) {
        const res = await fetch(new URL(METRICS_PATH, endpoint)).catch(() => undefined);
        if (res === undefined || !res.ok)
          throw new BerthError(
            "Unreachable",
            `Berth at ${endpoint} is not answering /metrics. Start it with \`npm run up\`, or pass --endpoint.`,
          );
        const table = renderTop(parsePrometheusText(await res.text()));
        process.stdout.write(redraw ? `\x1b[H\x1b[2J${table}` : table);
        if (flags.once) return 0;
        let timer: NodeJS.Timeout | undefined;
        const next = await Promise.race([
          quit?.pressed.then(() => "quit" as const),
          new Promise<"tick">(
            (resolve) => (timer = setTimeout(() => resolve("tick"), interval * 1000)),
          ),
        ]);
        clearTimeout(timer);
        if (next === "quit") return 0;
      }
    } finally {
      quit?.release();
    }
  },
});

/**
 * `q` (or Ctrl-C, which raw mode delivers as a byte) from a terminal ends `berth top`, as it ends
 * top(1). Without a terminal on stdin, there is nothing to read: Ctrl-C's signal ends it.
 */
function quitKeys(): { pressed: Promise<void>; release: () => void } | undefined {
  const stdin = process.stdin;
  if (!stdin.isTTY) return undefined;
  let onData: ((chunk: Buffer) => void) | undefined;
  const pressed = new Promise<void>((resolve) => {
    onData = (chunk: Buffer): void => {
      if (chunk.includes(0x71) || chunk.includes(0x51) || chunk.includes(0x03)) resolve();
    };
  });
  stdin.setRawMode(true);
  if (onData !== undefined) stdin.on("data", onData);
  stdin.resume();
  return {
    pressed,
    release: () => {
      if (onData !== undefined) stdin.off("data", onData);
      stdin.setRawMode(false);
      stdin.pause();
    },
  };
}
