/**
 * Field managers (`metadata.managedFields`, FieldsV1) for server-side apply: which manager set
 * which fields. An apply that changes a field another manager owns is a 409 Conflict naming the
 * field unless forced (then the field moves to the applier). Updates (create, PUT, PATCH) record
 * the fields they changed for their manager. Not covered: ownership of list items without a
 * merge key (whole lists are one field), and removing fields an applier stops applying.
 */
import { kubeTime, type KubeObject } from "./objects.js";
import { KubeError } from "./status.js";

type Obj = Record<string, unknown>;
type Path = string[];

interface ManagedFieldsEntry {
  manager: string;
  operation: "Apply" | "Update";
  apiVersion: string;
  time: string;
  fieldsType: "FieldsV1";
  fieldsV1: Obj;
  subresource?: string;
}

const MERGE_KEYS: Record<string, string> = {
  containers: "name",
  initContainers: "name",
  volumes: "name",
  env: "name",
  ports: "containerPort",
  volumeMounts: "mountPath",
  conditions: "type",
};

const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);

/** The leaf fields an object sets, as FieldsV1 path segments. */
function leaves(value: unknown, field?: string, prefix: Path = []): Path[] {
  if (isObj(value)) {
    const out: Path[] = [];
    for (const [k, v] of Object.entries(value)) {
      if (prefix.length === 0 && (k === "apiVersion" || k === "kind" || k === "status")) continue;
      if (
        prefix.length === 1 &&
        prefix[0] === "f:metadata" &&
        k !== "labels" &&
        k !== "annotations"
      )
        continue;
      out.push(...leaves(v, k, [...prefix, `f:${k}`]));
    }
    return out.length === 0 && prefix.length > 0 ? [prefix] : out;
  }
  const key = field === undefined ? undefined : MERGE_KEYS[field];
  if (Array.isArray(value) && key !== undefined) {
    const out: Path[] = [];
    for (const item of value) {
      if (!isObj(item) || item[key] === undefined) continue;
      const segment = `k:${JSON.stringify({ [key]: item[key] })}`;
      out.push(...leaves(item, undefined, [...prefix, segment]));
    }
    return out;
  }
  return [prefix];
}

function valueAt(object: unknown, path: Path): unknown {
  let value = object;
  for (const segment of path) {
    if (segment.startsWith("f:")) value = isObj(value) ? value[segment.slice(2)] : undefined;
    else if (segment.startsWith("k:")) {
      const key = JSON.parse(segment.slice(2)) as Obj;
      value = Array.isArray(value)
        ? value.find((item) => isObj(item) && Object.entries(key).every(([k, v]) => item[k] === v))
        : undefined;
    }
    if (value === undefined) return undefined;
  }
  return value;
}

function toFieldsV1(paths: Path[]): Obj {
  const root: Obj = {};
  for (const path of paths) {
    let node = root;
    for (const segment of path) {
      node[segment] ??= {};
      node = node[segment] as Obj;
    }
  }
  return root;
}

function fromFieldsV1(fields: Obj, prefix: Path = []): Path[] {
  const entries = Object.entries(fields).filter(([k]) => k !== ".");
  if (entries.length === 0) return prefix.length === 0 ? [] : [prefix];
  return entries.flatMap(([k, v]) => fromFieldsV1(isObj(v) ? v : {}, [...prefix, k]));
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
const key = (p: Path) => p.join("\u0000");
const dotted = (p: Path) =>
  p
    .map((s) =>
      s.startsWith("f:")
        ? `.${s.slice(2)}`
        : `[${s
            .slice(2)
            .replace(/^\{"(\w+)":/, "$1=")
            .replace(/\}$/, "")}]`,
    )
    .join("");

function entriesOf(object: KubeObject): ManagedFieldsEntry[] {
  return ((object.metadata.managedFields as ManagedFieldsEntry[] | undefined) ?? []).filter(
    (e) => e !== null && typeof e === "object",
  );
}

function withoutFields(
  entry: ManagedFieldsEntry,
  drop: Set<string>,
): ManagedFieldsEntry | undefined {
  const kept = fromFieldsV1(entry.fieldsV1).filter((p) => !drop.has(key(p)));
  return kept.length === 0 ? undefined : { ...entry, fieldsV1: toFieldsV1(kept) };
}

/** Records a create, PUT or PATCH: the fields it changed belong to `manager` from now on. */
export function recordUpdateManager(
  next: KubeObject,
  current: KubeObject | undefined,
  manager: string,
  operation: "Update",
  now: Date,
  apiVersion: string,
): void {
  const changed = leaves(next).filter(
    (p) => current === undefined || !same(valueAt(next, p), valueAt(current, p)),
  );
  const entries = entriesOf(current ?? next);
  if (changed.length === 0) {
    next.metadata.managedFields = entries;
    return;
  }
  const drop = new Set(changed.map(key));
  const others = entries
    .filter((e) => !(e.manager === manager && e.operation === operation))
    .map((e) => withoutFields(e, drop))
    .filter((e): e is ManagedFieldsEntry => e !== undefined);
  const own = entries.find((e) => e.manager === manager && e.operation === operation);
  const ownPaths = [...(own === undefined ? [] : fromFieldsV1(own.fieldsV1)), ...changed];
  next.metadata.managedFields = [
    ...others,
    {
      manager,
      operation,
      apiVersion,
      time: kubeTime(now),
      fieldsType: "FieldsV1",
      fieldsV1: toFieldsV1(ownPaths),
    },
  ];
}

/** Records a server-side apply; a changed field owned by another manager conflicts unless forced. */
export function applyManagedFields(
  next: KubeObject,
  current: KubeObject | undefined,
  applied: KubeObject,
  manager: string,
  now: Date,
  apiVersion: string,
  force: boolean,
): void {
  const appliedPaths = leaves(applied);
  const entries = current === undefined ? [] : entriesOf(current);
  const conflicts: { manager: string; apiVersion: string; path: Path }[] = [];
  for (const entry of entries) {
    if (entry.manager === manager && entry.operation === "Apply") continue;
    const owned = new Set(fromFieldsV1(entry.fieldsV1).map(key));
    for (const path of appliedPaths)
      if (owned.has(key(path)) && !same(valueAt(applied, path), valueAt(current, path)))
        conflicts.push({ manager: entry.manager, apiVersion: entry.apiVersion, path });
  }
  if (conflicts.length > 0 && !force) {
    const lines = conflicts.map(
      (c) => `conflict with "${c.manager}" using ${c.apiVersion}: ${dotted(c.path)}`,
    );
    throw new KubeError(
      "Conflict",
      `Apply failed with ${conflicts.length} conflict${conflicts.length === 1 ? "" : "s"}: ${lines.join("\n")}`,
      409,
      {
        causes: conflicts.map((c) => ({
          reason: "FieldManagerConflict",
          message: `conflict with "${c.manager}" using ${c.apiVersion}`,
          field: dotted(c.path),
        })),
      },
    );
  }
  const drop = new Set(appliedPaths.map(key));
  const others = entries
    .filter((e) => !(e.manager === manager && e.operation === "Apply"))
    .map((e) => withoutFields(e, drop))
    .filter((e): e is ManagedFieldsEntry => e !== undefined);
  next.metadata.managedFields = [
    ...others,
    {
      manager,
      operation: "Apply",
      apiVersion,
      time: kubeTime(now),
      fieldsType: "FieldsV1",
      fieldsV1: toFieldsV1(appliedPaths),
    },
  ];
}
