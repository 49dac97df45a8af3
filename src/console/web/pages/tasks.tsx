/**
 * A cluster's tasks: filtered and paged by the server, drawn as a virtual list (only the rows
 * in view exist in the page), so 10,000 tasks scroll like 10. Filters live in the URL.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { useLocation } from "preact-iso";
import { BASE, getJson, useLive } from "../api.js";
import { Failure, Page, Status } from "../components.js";
import { taskDefinitionName, whenMs } from "../format.js";
import type { TaskRow } from "../../task-table.js";

const ROW = 40;
const CHUNK = 200;
const OVERSCAN = 10;
const STATUSES = [
  "",
  "PROVISIONING",
  "PENDING",
  "ACTIVATING",
  "RUNNING",
  "DEACTIVATING",
  "STOPPING",
  "DEPROVISIONING",
  "STOPPED",
];

export function TasksPage(props: { cluster: string }) {
  const cluster = props.cluster;
  const { query, path, route } = useLocation();
  const desired = query.desiredStatus ?? "";
  const last = query.lastStatus ?? "";
  const search = query.search ?? "";
  const filter = new URLSearchParams({ cluster, desiredStatus: desired, lastStatus: last, search });
  const key = filter.toString();
  const [chunks, setChunks] = useState<Map<number, TaskRow[]>>(new Map());
  const [total, setTotal] = useState<number | undefined>(undefined);
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(600);
  const [error, setError] = useState<string | undefined>(undefined);
  const viewport = useRef<HTMLDivElement>(null);
  const generation = useRef(0);
  // What is typed in the search box until it is applied (Enter or leaving the box). Bound to the
  // URL's value instead, any re-render meanwhile (a page of rows arriving) put the URL's value
  // back into the box and the typing was lost.
  const [typed, setTyped] = useState(search);
  useEffect(() => setTyped(search), [search]);

  const start = Math.max(0, Math.floor(scrollTop / ROW) - OVERSCAN);
  const end = Math.min(total ?? 0, Math.ceil((scrollTop + height) / ROW) + OVERSCAN);

  const fetchChunk = (index: number, gen: number): void => {
    getJson<{ total: number; tasks: TaskRow[] }>(
      `tasks?${key}&offset=${index * CHUNK}&limit=${CHUNK}`,
    )
      .then((page) => {
        if (gen !== generation.current) return;
        setTotal(page.total);
        setChunks((old) => new Map(old).set(index, page.tasks));
        setError(undefined);
      })
      .catch((e: unknown) => setError(e instanceof Error ? e.message : String(e)));
  };

  // A new filter starts over; a change in the stream re-reads the chunks in view.
  const visibleChunks = (): number[] => {
    const first = Math.floor(start / CHUNK);
    const lastChunk = Math.floor(Math.max(end - 1, 0) / CHUNK);
    const list: number[] = [];
    for (let i = first; i <= lastChunk; i++) list.push(i);
    return list;
  };
  useLive(
    async () => {
      generation.current++;
      const gen = generation.current;
      setChunks(new Map());
      for (const i of visibleChunks()) fetchChunk(i, gen);
      return gen;
    },
    [key],
    (change) => change.kinds.includes("task"),
  );
  useEffect(() => {
    if (total === undefined) return;
    for (const i of visibleChunks())
      if (!chunks.has(i)) {
        chunks.set(i, []);
        fetchChunk(i, generation.current);
      }
  }, [start, end, total]);
  useEffect(() => {
    const el = viewport.current;
    if (el === null) return;
    const measure = (): void => setHeight(el.clientHeight);
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(el);
    return () => observer.disconnect();
  }, []);

  const setFilter = (name: string, value: string): void => {
    const next = new URLSearchParams({ desiredStatus: desired, lastStatus: last, search });
    if (value === "") next.delete(name);
    else next.set(name, value);
    for (const [k, v] of [...next]) if (v === "") next.delete(k);
    const text = next.toString();
    route(`${path}${text === "" ? "" : `?${text}`}`, true);
    viewport.current?.scrollTo(0, 0);
    setScrollTop(0);
  };

  const rows: { index: number; row: TaskRow | undefined }[] = [];
  for (let i = start; i < end; i++)
    rows.push({ index: i, row: chunks.get(Math.floor(i / CHUNK))?.[i % CHUNK] });
  const clusterPath = `${BASE}/clusters/${encodeURIComponent(cluster)}`;
  return (
    <Page
      title={`Tasks of ${cluster}`}
      actions={
        <a class="button" href={`${BASE}/run?cluster=${encodeURIComponent(cluster)}`}>
          Run task
        </a>
      }
    >
      <form class="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <label>
          Desired status{" "}
          <select
            value={desired}
            onChange={(e) => setFilter("desiredStatus", e.currentTarget.value)}
          >
            <option value="">Any</option>
            <option value="RUNNING">RUNNING</option>
            <option value="STOPPED">STOPPED</option>
          </select>
        </label>
        <label>
          Last status{" "}
          <select value={last} onChange={(e) => setFilter("lastStatus", e.currentTarget.value)}>
            {STATUSES.map((s) => (
              <option value={s}>{s === "" ? "Any" : s}</option>
            ))}
          </select>
        </label>
        <label>
          Search{" "}
          <input
            type="search"
            value={typed}
            placeholder="task id, family, group"
            onInput={(e) => setTyped(e.currentTarget.value)}
            onChange={(e) => setFilter("search", e.currentTarget.value.trim())}
          />
        </label>
        <span class="muted" role="status" data-testid="task-total">
          {total === undefined ? "Loading tasks…" : `${total} tasks`}
        </span>
      </form>
      <Failure error={error} />
      <div
        class="vtable"
        role="table"
        aria-label={`Tasks of ${cluster}`}
        aria-rowcount={(total ?? 0) + 1}
      >
        <div class="vrow vhead" role="row" aria-rowindex={1}>
          <span role="columnheader">Task</span>
          <span role="columnheader">Last status</span>
          <span role="columnheader">Desired</span>
          <span role="columnheader" class="wide">
            Task definition
          </span>
          <span role="columnheader" class="wide">
            Group
          </span>
          <span role="columnheader" class="wide">
            Created
          </span>
        </div>
        {/* The scrolling box is the rows' group: the keyboard stops on it (to scroll) and a
            screen reader hears what it is, inside the table. */}
        <div
          class="viewport"
          ref={viewport}
          tabIndex={0}
          role="rowgroup"
          aria-label="Task rows, scroll for more"
          onScroll={(e) => setScrollTop(e.currentTarget.scrollTop)}
        >
          <div role="none" style={{ height: `${(total ?? 0) * ROW}px`, position: "relative" }}>
            {rows.map(({ index, row }) => (
              <div
                key={index}
                class="vrow"
                role="row"
                aria-rowindex={index + 2}
                style={{
                  position: "absolute",
                  top: `${index * ROW}px`,
                  height: `${ROW}px`,
                  left: 0,
                  right: 0,
                }}
              >
                {row === undefined ? (
                  <span role="cell" class="muted">
                    …
                  </span>
                ) : (
                  <>
                    <span role="cell" class="mono">
                      <a href={`${clusterPath}/tasks/${row.id}`}>{row.id}</a>
                    </span>
                    <span role="cell">
                      <Status value={row.lastStatus} />
                    </span>
                    <span role="cell">{row.desiredStatus}</span>
                    <span role="cell" class="wide">
                      {taskDefinitionName(row.taskDefinitionArn)}
                    </span>
                    <span role="cell" class="wide">
                      {row.group}
                    </span>
                    <span role="cell" class="wide">
                      {whenMs(row.createdAt)}
                    </span>
                  </>
                )}
              </div>
            ))}
          </div>
        </div>
      </div>
    </Page>
  );
}
