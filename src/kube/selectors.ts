/** Label and field selectors, as list and watch take them (`app=web,tier!=db`, `env in (a,b)`, `!x`). */
import { badRequest } from "./status.js";
import type { KubeObject } from "./objects.js";

type Requirement = (labels: Record<string, string>) => boolean;

function splitTerms(selector: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let current = "";
  for (const c of selector) {
    if (c === "(") depth++;
    if (c === ")") depth--;
    if (c === "," && depth === 0) {
      terms.push(current.trim());
      current = "";
    } else current += c;
  }
  if (current.trim() !== "") terms.push(current.trim());
  return terms;
}

export function parseLabelSelector(selector: string | null): Requirement {
  if (selector === null || selector.trim() === "") return () => true;
  const requirements = splitTerms(selector).map((term): Requirement => {
    let m = /^([\w./-]+)\s*(==|=|!=)\s*([\w.-]*)$/.exec(term);
    if (m !== null) {
      const [, key = "", op, value = ""] = m;
      return op === "!=" ? (l) => l[key] !== value : (l) => l[key] === value;
    }
    m = /^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term);
    if (m !== null) {
      const [, key = "", op, list = ""] = m;
      const values = new Set(list.split(",").map((v) => v.trim()));
      return op === "in"
        ? (l) => l[key] !== undefined && values.has(l[key] ?? "")
        : (l) => l[key] === undefined || !values.has(l[key] ?? "");
    }
    m = /^(!?)([\w./-]+)$/.exec(term);
    if (m !== null) {
      const [, not, key = ""] = m;
      return not === "!" ? (l) => l[key] === undefined : (l) => l[key] !== undefined;
    }
    throw badRequest(`unable to parse requirement: ${term}`);
  });
  return (labels) => requirements.every((r) => r(labels));
}

/** The fields a pod's field selector may name (the API server's supported set, in part). */
function fieldValue(object: KubeObject, path: string): string | undefined {
  let value: unknown = object;
  for (const part of path.split(".")) {
    if (value === null || typeof value !== "object") return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  if (value === undefined || value === null) return undefined;
  return typeof value === "string" ? value : JSON.stringify(value);
}

export function parseFieldSelector(selector: string | null): (object: KubeObject) => boolean {
  if (selector === null || selector.trim() === "") return () => true;
  const requirements = splitTerms(selector).map((term) => {
    const m = /^([\w.]+)\s*(==|=|!=)\s*(.*)$/.exec(term);
    if (m === null) throw badRequest(`invalid field selector: ${term}`);
    const [, path = "", op, value = ""] = m;
    return (o: KubeObject) => {
      const actual = fieldValue(o, path) ?? "";
      return op === "!=" ? actual !== value : actual === value;
    };
  });
  return (object) => requirements.every((r) => r(object));
}
