/**
 * Server-side printing: the `Table` kubectl asks for (`Accept: ...;as=Table;g=meta.k8s.io`), with
 * the columns `kubectl get` shows for each served kind (priority 1 = `-o wide` only).
 */
import type { KubeObject } from "./objects.js";
import type { ResourceType } from "./resources.js";

interface Column {
  name: string;
  type: string;
  format?: string;
  priority?: number;
  cell: (o: KubeObject, now: Date) => unknown;
}

/** `kubectl get`'s ages: 45s, 3m10s, 5h, 2d. */
export function age(from: string | undefined, now: Date): string {
  if (from === undefined) return "<unknown>";
  const seconds = Math.max(0, Math.floor((now.getTime() - Date.parse(from)) / 1000));
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h`;
  return `${Math.floor(hours / 24)}d`;
}

type Obj = Record<string, unknown>;
const get = (o: unknown, ...path: string[]): unknown =>
  path.reduce<unknown>(
    (v, p) => (v !== null && typeof v === "object" ? (v as Obj)[p] : undefined),
    o,
  );
/** A scalar field as text ("" when absent or not a scalar). */
const text = (o: unknown, ...path: string[]): string => {
  const v = get(o, ...path);
  return typeof v === "string" || typeof v === "number" || typeof v === "boolean" ? String(v) : "";
};

function containerStatuses(o: KubeObject): Obj[] {
  return (get(o, "status", "containerStatuses") as Obj[] | undefined) ?? [];
}

/** What `kubectl get pods` shows as STATUS (the reason, Terminating, or the phase). */
export function podStatusText(o: KubeObject): string {
  if (o.metadata.deletionTimestamp !== undefined) return "Terminating";
  const reason = get(o, "status", "reason");
  if (typeof reason === "string") return reason;
  const init = (get(o, "status", "initContainerStatuses") as Obj[] | undefined) ?? [];
  const pendingInit = init.findIndex((s) => get(s, "state", "terminated", "exitCode") !== 0);
  if (init.length > 0 && pendingInit >= 0 && get(o, "status", "phase") === "Pending")
    return `Init:${pendingInit}/${init.length}`;
  for (const s of containerStatuses(o)) {
    const waiting = get(s, "state", "waiting", "reason");
    if (typeof waiting === "string" && waiting !== "") return waiting;
    const terminated = get(s, "state", "terminated", "reason");
    if (typeof terminated === "string" && get(o, "status", "phase") !== "Running")
      return terminated;
  }
  return text(o, "status", "phase") || "Pending";
}

const POD_COLUMNS: Column[] = [
  { name: "Name", type: "string", format: "name", cell: (o) => o.metadata.name },
  {
    name: "Ready",
    type: "string",
    cell: (o) => {
      const statuses = containerStatuses(o);
      const total = ((get(o, "spec", "containers") as unknown[] | undefined) ?? []).length;
      return `${statuses.filter((s) => s.ready === true).length}/${total}`;
    },
  },
  { name: "Status", type: "string", cell: podStatusText },
  {
    name: "Restarts",
    type: "string",
    cell: (o) => String(containerStatuses(o).reduce((n, s) => n + Number(s.restartCount ?? 0), 0)),
  },
  { name: "Age", type: "string", cell: (o, now) => age(o.metadata.creationTimestamp, now) },
  { name: "IP", type: "string", priority: 1, cell: (o) => get(o, "status", "podIP") ?? "<none>" },
  {
    name: "Node",
    type: "string",
    priority: 1,
    cell: (o) => get(o, "spec", "nodeName") ?? "<none>",
  },
  { name: "Nominated Node", type: "string", priority: 1, cell: () => "<none>" },
  { name: "Readiness Gates", type: "string", priority: 1, cell: () => "<none>" },
];

function workloadColumns(kind: "Deployment" | "ReplicaSet"): Column[] {
  const ofContainers = (name: string, field: string): Column => ({
    name,
    type: "string",
    priority: 1,
    cell: (o) =>
      ((get(o, "spec", "template", "spec", "containers") as Obj[] | undefined) ?? [])
        .map((c) => c[field])
        .join(","),
  });
  const images: Column[] = [
    ofContainers("Containers", "name"),
    ofContainers("Images", "image"),
    {
      name: "Selector",
      type: "string",
      priority: 1,
      cell: (o) =>
        Object.entries(
          (get(o, "spec", "selector", "matchLabels") as Record<string, string> | undefined) ?? {},
        )
          .map(([k, v]) => `${k}=${v}`)
          .join(","),
    },
  ];
  const num = (o: KubeObject, ...p: string[]) => Number(get(o, ...p) ?? 0);
  if (kind === "Deployment")
    return [
      { name: "Name", type: "string", format: "name", cell: (o) => o.metadata.name },
      {
        name: "Ready",
        type: "string",
        cell: (o) => `${num(o, "status", "readyReplicas")}/${num(o, "spec", "replicas")}`,
      },
      { name: "Up-to-date", type: "integer", cell: (o) => num(o, "status", "updatedReplicas") },
      { name: "Available", type: "integer", cell: (o) => num(o, "status", "availableReplicas") },
      { name: "Age", type: "string", cell: (o, now) => age(o.metadata.creationTimestamp, now) },
      ...images,
    ];
  return [
    { name: "Name", type: "string", format: "name", cell: (o) => o.metadata.name },
    { name: "Desired", type: "integer", cell: (o) => num(o, "spec", "replicas") },
    { name: "Current", type: "integer", cell: (o) => num(o, "status", "replicas") },
    { name: "Ready", type: "integer", cell: (o) => num(o, "status", "readyReplicas") },
    { name: "Age", type: "string", cell: (o, now) => age(o.metadata.creationTimestamp, now) },
    ...images,
  ];
}

const COLUMNS: Record<string, Column[]> = {
  Pod: POD_COLUMNS,
  Deployment: workloadColumns("Deployment"),
  ReplicaSet: workloadColumns("ReplicaSet"),
  Namespace: [
    { name: "Name", type: "string", format: "name", cell: (o) => o.metadata.name },
    { name: "Status", type: "string", cell: (o) => get(o, "status", "phase") ?? "Active" },
    { name: "Age", type: "string", cell: (o, now) => age(o.metadata.creationTimestamp, now) },
  ],
  Event: [
    {
      name: "Last Seen",
      type: "string",
      cell: (o, now) => age(get(o, "lastTimestamp") as string | undefined, now),
    },
    { name: "Type", type: "string", cell: (o) => get(o, "type") },
    { name: "Reason", type: "string", cell: (o) => get(o, "reason") },
    {
      name: "Object",
      type: "string",
      cell: (o) =>
        `${text(o, "involvedObject", "kind").toLowerCase()}/${text(o, "involvedObject", "name")}`,
    },
    { name: "Message", type: "string", cell: (o) => get(o, "message") },
  ],
};

export function wantsTable(accept: string | undefined): boolean {
  return /as=Table/.test(accept ?? "");
}

function tableVersion(accept: string | undefined): string {
  return /as=Table;v=v1beta1|v=v1beta1;as=Table/.test(accept ?? "") &&
    !/as=Table;v=v1;|v=v1;as=Table/.test(accept ?? "")
    ? "meta.k8s.io/v1beta1"
    : "meta.k8s.io/v1";
}

export function toTable(
  type: ResourceType,
  objects: KubeObject[],
  resourceVersion: string,
  now: Date,
  options: { accept: string | undefined; includeObject: string | null; withColumns?: boolean },
): Record<string, unknown> {
  const columns = COLUMNS[type.kind] ?? COLUMNS.Namespace ?? [];
  const include = options.includeObject ?? "Metadata";
  return {
    kind: "Table",
    apiVersion: tableVersion(options.accept),
    metadata: { resourceVersion },
    columnDefinitions:
      options.withColumns === false
        ? null
        : columns.map((c) => ({
            name: c.name,
            type: c.type,
            format: c.format ?? "",
            description: c.name,
            priority: c.priority ?? 0,
          })),
    rows: objects.map((o) => ({
      cells: columns.map((c) => c.cell(o, now) ?? ""),
      object:
        include === "Object"
          ? o
          : include === "None"
            ? null
            : {
                kind: "PartialObjectMetadata",
                apiVersion: "meta.k8s.io/v1",
                metadata: o.metadata,
              },
    })),
  };
}
