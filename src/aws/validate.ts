/**
 * Generic request validation against the service model, the way AWS's front ends do it before
 * a handler sees the request: JSON types first (a wrong type is a SerializationException), then
 * constraints (required, enum, length, range, pattern), all reported together in Coral's
 * "N validation errors detected: ..." form under the service's own validation error code.
 * Members the model does not know are dropped, as AWS ignores them.
 */
import type { AwsErrorCode } from "./error-codes.js";
import type { ServiceModel, Shape, ShapeRef } from "./model.js";
import { AwsError } from "./errors.js";

const MAX_REPORTED = 10;

class SerializationError extends AwsError {
  constructor(message: string) {
    super("SerializationException", message);
  }
}

const JAVA_TYPES: Record<string, string> = {
  integer: "Integer",
  long: "Long",
  double: "Double",
  float: "Float",
  boolean: "Boolean",
  string: "String",
  timestamp: "Timestamp",
  blob: "Blob",
};

function describeJson(value: unknown): string {
  if (Array.isArray(value)) return "Start of list found where not expected";
  if (value !== null && typeof value === "object")
    return "Start of structure or map found where not expected.";
  if (typeof value === "string") return "STRING_VALUE";
  if (typeof value === "number") return Number.isInteger(value) ? "NUMBER_VALUE" : "FLOAT_VALUE";
  if (typeof value === "boolean") return value ? "VALUE_TRUE" : "VALUE_FALSE";
  return "VALUE_NULL";
}

function typeMismatch(value: unknown, target: string): SerializationError {
  const found = describeJson(value);
  if (found.startsWith("Start of")) return new SerializationError(found);
  return new SerializationError(`${found} cannot be converted to ${target}`);
}

const patternCache = new Map<string, RegExp | null>();

/** Java's POSIX classes (US-ASCII), which JS regular expressions do not know. */
const JAVA_POSIX_CLASSES: Record<string, string> = {
  Print: "[\\x20-\\x7E]",
  Graph: "[\\x21-\\x7E]",
  Alnum: "[A-Za-z0-9]",
  Alpha: "[A-Za-z]",
  Digit: "[0-9]",
};

/** Java regular expressions mostly compile as JS; the few that do not are not enforced. */
function compilePattern(javaPattern: string): RegExp | null {
  let compiled = patternCache.get(javaPattern);
  if (compiled === undefined) {
    const pattern = javaPattern.replace(
      /\\p\{(Print|Graph|Alnum|Alpha|Digit)\}/g,
      (_, name: string) => JAVA_POSIX_CLASSES[name] ?? "",
    );
    try {
      compiled = new RegExp(`^(?:${pattern})$`, "u");
    } catch {
      try {
        compiled = new RegExp(`^(?:${pattern})$`);
      } catch {
        compiled = null;
      }
    }
    patternCache.set(javaPattern, compiled);
  }
  return compiled;
}

function show(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (typeof value === "string")
    return `'${value.length > 256 ? value.slice(0, 256) + "..." : value}'`;
  if (typeof value === "object") return "'" + JSON.stringify(value).slice(0, 256) + "'";
  return `'${JSON.stringify(value)}'`;
}

class Walker {
  readonly problems: string[] = [];
  constructor(private readonly model: ServiceModel) {}

  private problem(value: unknown, path: string, constraint: string): void {
    this.problems.push(
      `Value ${show(value)} at '${path}' failed to satisfy constraint: Member must ${constraint}`,
    );
  }

  private shape(ref: ShapeRef): Shape {
    const shape = this.model.shapes[ref.shape];
    if (shape === undefined) throw new Error(`model has no shape ${ref.shape}`);
    return shape;
  }

  /** Returns the value as handlers see it (unknown members dropped, timestamps as Dates). */
  walk(value: unknown, ref: ShapeRef, path: string): unknown {
    const shape = this.shape(ref);
    switch (shape.type) {
      case "structure":
        return this.structure(value, shape, path);
      case "list": {
        if (!Array.isArray(value)) throw typeMismatch(value, "List");
        this.length(value, value.length, shape, path);
        const member = shape.member as ShapeRef;
        return value.map((item: unknown, index) => {
          const itemPath = `${path}.${index + 1}.member`;
          if (item === null) {
            this.problem(null, itemPath, "not be null");
            return item;
          }
          return this.walk(item, member, itemPath);
        });
      }
      case "map": {
        if (value === null || typeof value !== "object" || Array.isArray(value))
          throw typeMismatch(value, "Map");
        const entries = Object.entries(value as Record<string, unknown>);
        this.length(value, entries.length, shape, path);
        const out: Record<string, unknown> = {};
        for (const [key, item] of entries) {
          this.walk(key, shape.key as ShapeRef, `${path}.${key}.key`);
          out[key] =
            item === null ? null : this.walk(item, shape.value as ShapeRef, `${path}.${key}.value`);
        }
        return out;
      }
      case "string": {
        if (typeof value !== "string") throw typeMismatch(value, "String");
        if (shape.enum !== undefined && !shape.enum.includes(value))
          this.problem(value, path, `satisfy enum value set: [${shape.enum.join(", ")}]`);
        this.length(value, [...value].length, shape, path);
        if (shape.pattern !== undefined) {
          const regex = compilePattern(shape.pattern);
          if (regex !== null && !regex.test(value))
            this.problem(value, path, `satisfy regular expression pattern: ${shape.pattern}`);
        }
        return value;
      }
      case "integer":
      case "long":
        if (typeof value !== "number" || !Number.isInteger(value))
          throw typeMismatch(value, JAVA_TYPES[shape.type] ?? "Integer");
        this.range(value, shape, path);
        return value;
      case "double":
      case "float":
        if (typeof value !== "number")
          throw typeMismatch(value, JAVA_TYPES[shape.type] ?? "Double");
        this.range(value, shape, path);
        return value;
      case "boolean":
        if (typeof value !== "boolean") throw typeMismatch(value, "Boolean");
        return value;
      case "timestamp": {
        // JSON 1.1 sends epoch seconds; ISO strings are accepted as the SDKs also parse them.
        const date =
          typeof value === "number"
            ? new Date(value * 1000)
            : typeof value === "string"
              ? new Date(value)
              : undefined;
        if (date === undefined || Number.isNaN(date.getTime()))
          throw typeMismatch(value, "Timestamp");
        return date;
      }
      case "blob":
        if (typeof value !== "string") throw typeMismatch(value, "Blob");
        return value;
    }
  }

  private structure(value: unknown, shape: Shape, path: string): Record<string, unknown> {
    if (value === null || typeof value !== "object" || Array.isArray(value))
      throw typeMismatch(value, "Structure");
    const input = value as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const name of shape.required ?? []) {
      if (input[name] === undefined || input[name] === null)
        this.problem(null, path === "" ? name : `${path}.${name}`, "not be null");
    }
    for (const [name, ref] of Object.entries(shape.members ?? {})) {
      const member = input[name];
      if (member === undefined || member === null) continue;
      out[name] = this.walk(member, ref, path === "" ? name : `${path}.${name}`);
    }
    return out;
  }

  private length(value: unknown, length: number, shape: Shape, path: string): void {
    if (shape.min !== undefined && length < shape.min)
      this.problem(value, path, `have length greater than or equal to ${shape.min}`);
    if (shape.max !== undefined && length > shape.max)
      this.problem(value, path, `have length less than or equal to ${shape.max}`);
  }

  private range(value: number, shape: Shape, path: string): void {
    if (shape.min !== undefined && value < shape.min)
      this.problem(value, path, `have value greater than or equal to ${shape.min}`);
    if (shape.max !== undefined && value > shape.max)
      this.problem(value, path, `have value less than or equal to ${shape.max}`);
  }
}

/** A request's JSON body (empty: `{}`); unreadable JSON is a SerializationException, as on AWS. */
export function parseJsonBody(body: Buffer): unknown {
  try {
    return body.length === 0 ? {} : JSON.parse(body.toString("utf8"));
  } catch {
    throw new AwsError("SerializationException", "");
  }
}

/**
 * Checks `body` against the input shape of `action` and returns it cleaned.
 * Throws SerializationException for JSON of the wrong type, `validationCode` for constraints.
 */
export function validateInput(
  model: ServiceModel,
  action: string,
  body: unknown,
  validationCode: AwsErrorCode,
): Record<string, unknown> {
  const inputRef = model.operations[action]?.input;
  if (inputRef === undefined) {
    if (body === null || typeof body !== "object" || Array.isArray(body))
      throw typeMismatch(body, "Structure");
    return body as Record<string, unknown>;
  }
  const walker = new Walker(model);
  const cleaned = walker.walk(body, inputRef, "") as Record<string, unknown>;
  const { problems } = walker;
  if (problems.length > 0) {
    const shown = problems.slice(0, MAX_REPORTED);
    const count = problems.length;
    throw new AwsError(
      validationCode,
      `${count} validation error${count === 1 ? "" : "s"} detected: ${shown.join("; ")}`,
    );
  }
  return cleaned;
}
