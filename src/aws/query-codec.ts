/**
 * The AWS Query protocol's two encodings, driven by the service model: form parameters in
 * (`A.B`, `List.member.N`, `Map.entry.N.key` / `.value`) and XML out (`<Member><member>..`,
 * timestamps ISO 8601). The parsed input has the JSON shape the generic validator checks.
 */
import { AwsError } from "./errors.js";
import type { ServiceModel, Shape, ShapeRef } from "./model.js";

/** A form body's keys split on "." into nested objects; leaves are the raw strings. */
type FormTree = { [key: string]: FormTree | string };

function formTree(params: URLSearchParams): FormTree {
  const root: FormTree = {};
  for (const [key, value] of params) {
    const parts = key.split(".");
    let node = root;
    for (const [index, part] of parts.entries()) {
      if (index === parts.length - 1) {
        if (typeof node[part] !== "object") node[part] = value;
        break;
      }
      const next = node[part];
      if (typeof next === "object") node = next;
      else node = node[part] = {};
    }
  }
  return root;
}

function invalidValue(value: string, path: string, what: string): AwsError {
  return new AwsError(
    "ValidationError",
    `1 validation error detected: Value '${value.slice(0, 256)}' at '${path}' failed to satisfy constraint: Member must be ${what}`,
  );
}

/** The numbered children of a list or map node (`1`, `2`, ...), in number order. */
function numbered(node: FormTree): FormTree[string][] {
  return Object.keys(node)
    .filter((key) => /^[1-9]\d*$/.test(key))
    .sort((a, b) => Number(a) - Number(b))
    .map((key) => node[key] as FormTree[string]);
}

function shapeOf(model: ServiceModel, ref: ShapeRef): Shape {
  const shape = model.shapes[ref.shape];
  if (shape === undefined) throw new Error(`model has no shape ${ref.shape}`);
  return shape;
}

function decode(model: ServiceModel, node: FormTree[string], ref: ShapeRef, path: string): unknown {
  const shape = shapeOf(model, ref);
  if (shape.type === "structure") {
    if (typeof node !== "object") return undefined;
    const out: Record<string, unknown> = {};
    for (const [name, member] of Object.entries(shape.members ?? {})) {
      const child = node[name];
      if (child === undefined) continue;
      const value = decode(model, child, member, path === "" ? name : `${path}.${name}`);
      if (value !== undefined) out[name] = value;
    }
    return out;
  }
  if (shape.type === "list") {
    // `List=` (an empty value) is how the Query protocol sends an empty list.
    if (typeof node !== "object") return node === "" ? [] : undefined;
    const items = typeof node.member === "object" ? numbered(node.member) : [];
    return items
      .map((item, index) =>
        decode(model, item, shape.member as ShapeRef, `${path}.member.${index + 1}`),
      )
      .filter((item) => item !== undefined);
  }
  if (shape.type === "map") {
    if (typeof node !== "object") return undefined;
    const out: Record<string, unknown> = {};
    const entries = typeof node.entry === "object" ? numbered(node.entry) : [];
    for (const entry of entries) {
      if (typeof entry !== "object" || typeof entry.key !== "string") continue;
      out[entry.key] = decode(model, entry.value ?? "", shape.value as ShapeRef, path);
    }
    return out;
  }
  if (typeof node !== "string") return undefined;
  switch (shape.type) {
    case "integer":
    case "long":
      if (!/^-?\d+$/.test(node)) throw invalidValue(node, path, "an integer");
      return Number(node);
    case "double":
    case "float":
      if (node.trim() === "" || Number.isNaN(Number(node)))
        throw invalidValue(node, path, "a number");
      return Number(node);
    case "boolean":
      if (node !== "true" && node !== "false") throw invalidValue(node, path, "true or false");
      return node === "true";
    case "timestamp": {
      const date = /^\d+(\.\d+)?$/.test(node) ? new Date(Number(node) * 1000) : new Date(node);
      if (Number.isNaN(date.getTime())) throw invalidValue(node, path, "a timestamp");
      return date.toISOString();
    }
    default:
      return node;
  }
}

/** The input of `action` from its form parameters (Action and Version already taken out). */
export function decodeQueryInput(
  model: ServiceModel,
  action: string,
  params: URLSearchParams,
): Record<string, unknown> {
  const ref = model.operations[action]?.input;
  if (ref === undefined) return {};
  return (decode(model, formTree(params), ref, "") ?? {}) as Record<string, unknown>;
}

const XML_ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;" };

/** Element text only needs these three escaped (AWS leaves quotes as they are). */
export function escapeXml(text: string): string {
  return text.replace(/[&<>]/g, (c) => XML_ESCAPES[c] ?? c);
}

function encode(model: ServiceModel, value: unknown, ref: ShapeRef): string {
  const shape = shapeOf(model, ref);
  switch (shape.type) {
    case "structure": {
      const record = value as Record<string, unknown>;
      let xml = "";
      for (const [name, member] of Object.entries(shape.members ?? {})) {
        const child = record[name];
        if (child === undefined || child === null) continue;
        xml += `<${name}>${encode(model, child, member)}</${name}>`;
      }
      return xml;
    }
    case "list":
      return (value as unknown[])
        .map((item) => `<member>${encode(model, item, shape.member as ShapeRef)}</member>`)
        .join("");
    case "map":
      return Object.entries(value as Record<string, unknown>)
        .map(
          ([key, item]) =>
            `<entry><key>${escapeXml(key)}</key><value>${encode(model, item, shape.value as ShapeRef)}</value></entry>`,
        )
        .join("");
    case "timestamp":
      return (value instanceof Date ? value : new Date(value as string)).toISOString();
    default:
      return escapeXml(String(value));
  }
}

/** `<ActionResponse><ActionResult>..</ActionResult><ResponseMetadata>..` for `output`. */
export function encodeQueryOutput(
  model: ServiceModel,
  action: string,
  output: unknown,
  requestId: string,
): string {
  const operation = model.operations[action];
  const namespace = model.metadata.xmlNamespace ?? "";
  const ref = operation?.output;
  const result =
    ref === undefined
      ? ""
      : `<${action}Result>${encode(model, output ?? {}, ref)}</${action}Result>`;
  return (
    `<${action}Response xmlns="${namespace}">${result}` +
    `<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${action}Response>`
  );
}

/** The Query protocol's error document. */
export function encodeQueryError(
  namespace: string,
  fault: "Sender" | "Receiver",
  code: string,
  message: string,
  requestId: string,
): string {
  return (
    `<ErrorResponse xmlns="${namespace}"><Error><Type>${fault}</Type>` +
    `<Code>${escapeXml(code)}</Code><Message>${escapeXml(message)}</Message></Error>` +
    `<RequestId>${requestId}</RequestId></ErrorResponse>`
  );
}
