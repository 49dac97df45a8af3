/**
 * One task: its lifecycle timeline, containers (exit codes, health, limits), the CPU and memory
 * it reserves against what it used in the last metric period, address, output streaming live
 * (follow, search, download), and the actions stop and run again.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { useLocation } from "preact-iso";
import { BASE, ECS, aws, getJson, useActions, useLive } from "../api.js";
import { Failure, Field, Loading, Page, Status, Table } from "../components.js";
import { MetricsCharts } from "../chart.js";
import { taskDefinitionName, when } from "../format.js";

interface Container {
  name: string;
  image?: string;
  lastStatus?: string;
  exitCode?: number;
  reason?: string;
  healthStatus?: string;
  cpu?: string;
  memory?: string;
  memoryReservation?: string;
  networkInterfaces?: { privateIpv4Address?: string }[];
}

export interface Task {
  taskArn: string;
  clusterArn: string;
  taskDefinitionArn: string;
  lastStatus: string;
  desiredStatus: string;
  cpu?: string;
  memory?: string;
  group?: string;
  startedBy?: string;
  launchType?: string;
  capacityProviderName?: string;
  healthStatus?: string;
  stopCode?: string;
  stoppedReason?: string;
  availabilityZone?: string;
  overrides?: object;
  containers: Container[];
  attachments?: { type?: string; details?: { name?: string; value?: string }[] }[];
  createdAt?: number;
  pullStartedAt?: number;
  pullStoppedAt?: number;
  startedAt?: number;
  connectivityAt?: number;
  stoppingAt?: number;
  executionStoppedAt?: number;
  stoppedAt?: number;
}

const TIMELINE: [keyof Task, string][] = [
  ["createdAt", "Created"],
  ["pullStartedAt", "Pull started"],
  ["pullStoppedAt", "Pull stopped"],
  ["connectivityAt", "Connectivity"],
  ["startedAt", "Started"],
  ["stoppingAt", "Stopping"],
  ["executionStoppedAt", "Execution stopped"],
  ["stoppedAt", "Stopped"],
];

function address(task: Task): string {
  for (const attachment of task.attachments ?? [])
    for (const detail of attachment.details ?? [])
      if (detail.name === "privateIPv4Address" && detail.value !== undefined) return detail.value;
  return task.containers[0]?.networkInterfaces?.[0]?.privateIpv4Address ?? "—";
}

interface LogLine {
  container: string;
  stream: string;
  time: string;
  text: string;
}

const MAX_LINES = 5000;

/** Statuses before any container exists: there is no output to read yet. */
const NOT_STARTED = new Set(["PROVISIONING", "PENDING", "ACTIVATING"]);

/**
 * The task's output, streamed from its host. A stream that ends while the task still runs (it
 * was opened as the containers were being made) is opened again: it replays from the start.
 */
function Logs(props: { taskArn: string; started: boolean; stopped: boolean }) {
  const [lines, setLines] = useState<LogLine[]>([]);
  const [ended, setEnded] = useState<string | undefined>(undefined);
  const [follow, setFollow] = useState(true);
  const [search, setSearch] = useState("");
  const box = useRef<HTMLPreElement>(null);
  const [attempt, setAttempt] = useState(0);
  const stopped = useRef(props.stopped);
  stopped.current = props.stopped;
  useEffect(() => {
    setLines([]);
    setEnded(undefined);
    if (!props.started) return;
    const source = new EventSource(`${BASE}/api/logs?task=${encodeURIComponent(props.taskArn)}`);
    source.addEventListener("lines", (event) => {
      const more = JSON.parse((event as MessageEvent<string>).data) as LogLine[];
      setLines((old) => [...old, ...more].slice(-MAX_LINES));
    });
    source.addEventListener("end", (event) => {
      const end = JSON.parse((event as MessageEvent<string>).data) as { error?: string };
      source.close();
      if (stopped.current) setEnded(end.error ?? "The output ended.");
      else retry = window.setTimeout(() => setAttempt((n) => n + 1), 2000);
    });
    let retry = 0;
    return () => {
      window.clearTimeout(retry);
      source.close();
    };
  }, [props.taskArn, props.started, attempt]);
  useEffect(() => {
    if (follow && box.current !== null) box.current.scrollTop = box.current.scrollHeight;
  }, [lines, follow]);
  const shown = search === "" ? lines : lines.filter((l) => l.text.includes(search));
  const download = (): void => {
    const text =
      lines.map((l) => `${l.time} ${l.container} ${l.stream} ${l.text}`).join("\n") + "\n";
    const url = URL.createObjectURL(new Blob([text], { type: "text/plain" }));
    const a = document.createElement("a");
    a.href = url;
    a.download = `${props.taskArn.split("/").pop() ?? "task"}.log`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  };
  return (
    <section aria-labelledby="logs-title">
      <h2 id="logs-title">Logs</h2>
      <div class="filters">
        <label>
          <input
            type="checkbox"
            checked={follow}
            onChange={(e) => setFollow(e.currentTarget.checked)}
          />{" "}
          Follow
        </label>
        <label>
          Search{" "}
          <input type="search" value={search} onInput={(e) => setSearch(e.currentTarget.value)} />
        </label>
        <button type="button" onClick={download} disabled={lines.length === 0}>
          Download
        </button>
        <span class="muted" role="status">
          {props.started ? `${lines.length} lines` : "No output before the task starts"}
          {ended === undefined ? "" : ` · ${ended}`}
        </span>
      </div>
      {/* A log a screen reader names and can be moved into (focusable, it scrolls by keyboard);
          not read out line by line as lines arrive (aria-live off). */}
      <pre
        class="logs"
        ref={box}
        tabIndex={0}
        role="log"
        aria-label="Task output"
        aria-live="off"
        data-testid="logs"
      >
        {shown.map((l) => `${l.container} | ${l.text}\n`).join("")}
      </pre>
    </section>
  );
}

/**
 * What the task reserves (its size, as Fargate bills it) against what it used in the last
 * metric period with samples: the utilization datapoints times the reservation.
 */
function Limits(props: { taskArn: string; cpu?: string; memory?: string }) {
  const { data } = useLive(
    async () => {
      const { points } = await getJson<{ points: { cpu?: number; memory?: number }[] }>(
        `metrics?task=${encodeURIComponent(props.taskArn)}&minutes=15`,
      );
      return points.filter((p) => p.cpu !== undefined || p.memory !== undefined).at(-1) ?? null;
    },
    [props.taskArn],
    (change) => change.kinds.includes("metrics"),
  );
  const cpu = Number(props.cpu);
  const memory = Number(props.memory);
  const used = (percent: number | undefined, of: number, unit: string): string =>
    percent === undefined || !Number.isFinite(of)
      ? "no datapoint yet"
      : `${((percent / 100) * of).toFixed(1)} ${unit} (${percent.toFixed(1)}%)`;
  return (
    <Table
      caption="Reserved and used (last metric period)"
      shown
      columns={["Resource", "Reserved", "Used"]}
      testid="task-limits"
    >
      <tr>
        <th scope="row">vCPU</th>
        <td>{Number.isFinite(cpu) ? `${(cpu / 1024).toFixed(2)} vCPU (${cpu} units)` : "—"}</td>
        <td data-testid="used-cpu">{used(data?.cpu, cpu, "units")}</td>
      </tr>
      <tr>
        <th scope="row">Memory</th>
        <td>{Number.isFinite(memory) ? `${memory} MiB` : "—"}</td>
        <td data-testid="used-memory">{used(data?.memory, memory, "MiB")}</td>
      </tr>
    </Table>
  );
}

export function TaskPage(props: { cluster: string; task: string }) {
  const { cluster, task: id } = props;
  const { route } = useLocation();
  const { data, error, reload } = useLive(
    async () =>
      (await aws<{ tasks: Task[] }>(`${ECS}.DescribeTasks`, { cluster, tasks: [id] })).tasks[0] ??
      null,
    [cluster, id],
    (change) => change.manyTasks || change.taskArns.some((arn) => arn.endsWith(`/${id}`)),
  );
  const { busy, error: actionError, act } = useActions(reload);
  if (data === undefined)
    return (
      <Page title={`Task ${id}`}>
        {error === undefined ? <Loading what="the task" /> : <Failure error={error} />}
      </Page>
    );
  if (data === null)
    return (
      <Page title={`Task ${id}`}>
        <p>No such task in {cluster}.</p>
      </Page>
    );
  const t = data;
  const stop = (): void =>
    act("stop", async () => {
      await aws(`${ECS}.StopTask`, {
        cluster,
        task: t.taskArn,
        reason: "Stopped from the Berth console",
      });
    });
  const again = (): void =>
    act("again", async () => {
      const started = await aws<{ tasks: Task[]; failures: { reason?: string }[] }>(
        `${ECS}.RunTask`,
        {
          cluster,
          taskDefinition: t.taskDefinitionArn,
          count: 1,
          ...(t.overrides === undefined ? {} : { overrides: t.overrides }),
          ...(t.launchType === undefined ? {} : { launchType: t.launchType }),
        },
      );
      const next = started.tasks[0];
      if (next === undefined)
        throw new Error(started.failures[0]?.reason ?? "RunTask started nothing.");
      route(
        `${BASE}/clusters/${encodeURIComponent(cluster)}/tasks/${next.taskArn.split("/").pop() ?? ""}`,
      );
    });
  return (
    <Page
      title={`Task ${id}`}
      actions={
        <>
          <button
            type="button"
            onClick={stop}
            disabled={busy !== undefined || t.desiredStatus === "STOPPED"}
          >
            {busy === "stop" ? "Stopping…" : "Stop"}
          </button>
          <button type="button" onClick={again} disabled={busy !== undefined}>
            {busy === "again" ? "Starting…" : "Run again"}
          </button>
        </>
      }
    >
      <Failure error={actionError ?? error} />
      <dl class="fields">
        <Field label="Last status">
          <span data-testid="task-status">
            <Status value={t.lastStatus} />
          </span>
        </Field>
        <Field label="Desired status">{t.desiredStatus}</Field>
        <Field label="Health">{t.healthStatus ?? "—"}</Field>
        <Field label="Task definition">{taskDefinitionName(t.taskDefinitionArn)}</Field>
        <Field label="Size">
          {t.cpu ?? "?"} CPU units, {t.memory ?? "?"} MiB
        </Field>
        <Field label="Address">
          <span class="mono">{address(t)}</span>
        </Field>
        <Field label="Availability zone">{t.availabilityZone ?? "—"}</Field>
        <Field label="Capacity">{t.capacityProviderName ?? t.launchType ?? "—"}</Field>
        <Field label="Group">{t.group ?? "—"}</Field>
        <Field label="Started by">{t.startedBy ?? "—"}</Field>
        {t.stopCode === undefined ? null : (
          <Field label="Stop">
            {t.stopCode}: {t.stoppedReason ?? ""}
          </Field>
        )}
      </dl>
      <Limits taskArn={t.taskArn} cpu={t.cpu} memory={t.memory} />
      <h2>Timeline</h2>
      <ol class="timeline" data-testid="timeline">
        {TIMELINE.map(([key, label]) => (
          <li key={key} class={t[key] === undefined ? "pending" : "done"}>
            <span>{label}</span> <time>{when(t[key] as number | undefined)}</time>
          </li>
        ))}
      </ol>
      <h2>Containers</h2>
      <Table
        caption="Containers of the task"
        columns={["Name", "Status", "Exit code", "Health", "Limits", "Image"]}
      >
        {t.containers.map((c) => (
          <tr key={c.name}>
            <td>{c.name}</td>
            <td>
              <Status value={c.lastStatus} />
            </td>
            <td data-testid={`exit-${c.name}`}>
              {c.exitCode ?? "—"}
              {c.reason === undefined ? "" : ` (${c.reason})`}
            </td>
            <td data-testid={`health-${c.name}`}>{c.healthStatus ?? "—"}</td>
            <td>
              {c.cpu ?? "—"} CPU, {c.memory ?? c.memoryReservation ?? "—"} MiB
            </td>
            <td class="mono">{c.image ?? ""}</td>
          </tr>
        ))}
      </Table>
      <MetricsCharts taskArn={t.taskArn} />
      <Logs
        taskArn={t.taskArn}
        started={!NOT_STARTED.has(t.lastStatus)}
        stopped={t.lastStatus === "STOPPED"}
      />
    </Page>
  );
}
