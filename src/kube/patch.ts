/**
 * The three patch kinds of the Kubernetes API: JSON merge patch (RFC 7386), JSON patch (RFC 6902)
 * and strategic merge patch, whose lists merge by the pod spec's merge keys (containers by name,
 * ports by containerPort, ...) and which understands kubectl's directives (`$patch`,
 * `$setElementOrder/`, `$retainKeys`, `$deleteFromPrimitiveList/`).
 */
import { badRequest, KubeError } from "./status.js";

type Json = unknown;
type JsonObject = Record<string, unknown>;

function isObject(value: Json): value is JsonObject {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

export function jsonMergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) return structuredClone(patch);
  const result: JsonObject = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = jsonMergePatch(result[key], value);
  }
  return result;
}

/**
 * Merge keys by field name, as the Kubernetes types declare them (`patchMergeKey`). Lists not
 * named here are replaced whole; `finalizers` merges as a set of strings.
 */
const MERGE_KEYS: Record<string, string> = {
  containers: "name",
  initContainers: "name",
  ephemeralContainers: "name",
  volumes: "name",
  env: "name",
  ports: "containerPort",
  volumeMounts: "mountPath",
  volumeDevices: "devicePath",
  imagePullSecrets: "name",
  hostAliases: "ip",
  conditions: "type",
  ownerReferences: "uid",
  topologySpreadConstraints: "topologyKey",
  resourceClaims: "name",
};
const PRIMITIVE_SETS = new Set(["finalizers"]);

function mergeList(field: string, target: Json[], patch: Json[], order?: Json[]): Json[] {
  const key = MERGE_KEYS[field];
  if (PRIMITIVE_SETS.has(field)) return [...new Set([...target, ...patch])];
  if (key === undefined) {
    if (patch.some((item) => isObject(item) && item.$patch !== undefined))
      return patch.filter((item) => !(isObject(item) && item.$patch !== undefined));
    return structuredClone(patch);
  }
  if (patch.some((item) => isObject(item) && item.$patch === "replace"))
    return patch.filter((item) => !(isObject(item) && item.$patch === "replace"));
  const result = target.map((item) => structuredClone(item));
  for (const item of patch) {
    if (!isObject(item)) continue;
    const index = result.findIndex((existing) => isObject(existing) && existing[key] === item[key]);
    if (item.$patch === "delete") {
      if (index >= 0) result.splice(index, 1);
      continue;
    }
    if (index >= 0) result[index] = strategicMerge(result[index], item);
    else result.push(strategicMerge({}, item));
  }
  if (order !== undefined) {
    const rank = (item: Json): number => {
      const at = order.findIndex((o) => isObject(o) && isObject(item) && o[key] === item[key]);
      return at < 0 ? order.length : at;
    };
    result.sort((a, b) => rank(a) - rank(b));
  }
  return result;
}

export function strategicMerge(target: Json, patch: Json): Json {
  if (!isObject(patch)) return structuredClone(patch);
  if (patch.$patch === "replace") {
    const copy = { ...patch };
    delete copy.$patch;
    return copy;
  }
  if (patch.$patch === "delete") return undefined;
  const result: JsonObject = isObject(target) ? { ...target } : {};
  const retain = Array.isArray(patch.$retainKeys)
    ? new Set(patch.$retainKeys as string[])
    : undefined;
  for (const [key, value] of Object.entries(patch)) {
    if (key === "$patch" || key === "$retainKeys" || key.startsWith("$setElementOrder/")) continue;
    if (key.startsWith("$deleteFromPrimitiveList/")) {
      const field = key.slice("$deleteFromPrimitiveList/".length);
      const drop = new Set(Array.isArray(value) ? value : []);
      const list = result[field];
      if (Array.isArray(list)) result[field] = list.filter((v) => !drop.has(v));
      continue;
    }
    if (value === null) {
      delete result[key];
      continue;
    }
    const order = patch[`$setElementOrder/${key}`];
    if (Array.isArray(value)) {
      const current = result[key];
      result[key] = mergeList(
        key,
        Array.isArray(current) ? current : [],
        value,
        Array.isArray(order) ? order : undefined,
      );
    } else if (isObject(value)) {
      const merged = strategicMerge(result[key], value);
      if (merged === undefined) delete result[key];
      else result[key] = merged;
    } else result[key] = value;
  }
  for (const [key, order] of Object.entries(patch)) {
    if (!key.startsWith("$setElementOrder/") || !Array.isArray(order)) continue;
    const field = key.slice("$setElementOrder/".length);
    const list = result[field];
    if (Array.isArray(list) && patch[field] === undefined)
      result[field] = mergeList(field, list, [], order);
  }
  if (retain !== undefined)
    for (const key of Object.keys(result)) if (!retain.has(key)) delete result[key];
  return result;
}

interface Operation {
  op: string;
  path: string;
  from?: string;
  value?: Json;
}

function pointer(path: string): string[] {
  if (path === "") return [];
  if (!path.startsWith("/")) throw badRequest(`invalid JSON pointer: ${path}`);
  return path
    .slice(1)
    .split("/")
    .map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"));
}

function parentOf(doc: Json, parts: string[]): { parent: Json; key: string } {
  let parent = doc;
  for (const part of parts.slice(0, -1)) {
    if (Array.isArray(parent)) parent = parent[Number(part)];
    else if (isObject(parent)) parent = parent[part];
    else parent = undefined;
    if (parent === undefined) throw unprocessable(`path /${parts.join("/")} does not exist`);
  }
  return { parent, key: parts[parts.length - 1] ?? "" };
}

function unprocessable(message: string): KubeError {
  return new KubeError(
    "Invalid",
    `the server rejected our request due to an error in our request: ${message}`,
    422,
  );
}

export function jsonPatch(target: Json, operations: Json): Json {
  if (!Array.isArray(operations)) throw badRequest("a JSON patch must be a list of operations");
  let doc = structuredClone(target);
  for (const raw of operations as Operation[]) {
    const parts = pointer(raw.path);
    const get = (p: string[]): Json => {
      const { parent, key } = parentOf(doc, p);
      return Array.isArray(parent)
        ? parent[Number(key)]
        : isObject(parent)
          ? parent[key]
          : undefined;
    };
    const remove = (p: string[]): void => {
      const { parent, key } = parentOf(doc, p);
      if (Array.isArray(parent)) parent.splice(Number(key), 1);
      else if (isObject(parent) && key in parent) delete parent[key];
      else throw unprocessable(`path ${raw.path} does not exist`);
    };
    const add = (p: string[], value: Json): void => {
      if (p.length === 0) {
        doc = structuredClone(value);
        return;
      }
      const { parent, key } = parentOf(doc, p);
      if (Array.isArray(parent))
        parent.splice(key === "-" ? parent.length : Number(key), 0, structuredClone(value));
      else if (isObject(parent)) parent[key] = structuredClone(value);
    };
    switch (raw.op) {
      case "add":
        add(parts, raw.value);
        break;
      case "remove":
        remove(parts);
        break;
      case "replace":
        if (get(parts) === undefined) throw unprocessable(`path ${raw.path} does not exist`);
        remove(parts);
        add(parts, raw.value);
        break;
      case "move": {
        const from = pointer(raw.from ?? "");
        const value = get(from);
        remove(from);
        add(parts, value);
        break;
      }
      case "copy":
        add(parts, get(pointer(raw.from ?? "")));
        break;
      case "test":
        if (JSON.stringify(get(parts)) !== JSON.stringify(raw.value))
          throw unprocessable(`test failed at ${raw.path}`);
        break;
      default:
        throw badRequest(`unknown JSON patch operation: ${String(raw.op)}`);
    }
  }
  return doc;
}
