/**
 * The AWS service models (botocore's service-2.json) are the spec for every AWS-compatible
 * service here: action names, shapes, required members, enums, ranges, lengths and patterns.
 * They are read from the installed Debian `awscli` package, never copied into the repository.
 */
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { BerthError } from "../core/index.js";

export interface ShapeRef {
  shape: string;
  jsonvalue?: boolean;
  /** REST protocols: where a member travels (`uri`, `querystring`, `header`), and its name there. */
  location?: "uri" | "querystring" | "header" | "headers" | "statusCode";
  locationName?: string;
}

export interface Shape {
  type:
    | "structure"
    | "list"
    | "map"
    | "string"
    | "integer"
    | "long"
    | "boolean"
    | "double"
    | "float"
    | "timestamp"
    | "blob";
  members?: Record<string, ShapeRef>;
  required?: string[];
  member?: ShapeRef;
  key?: ShapeRef;
  value?: ShapeRef;
  enum?: string[];
  min?: number;
  max?: number;
  pattern?: string;
  exception?: boolean;
  /** REST protocols: an error shape's HTTP status. */
  error?: { httpStatusCode?: number; code?: string };
}

export interface Operation {
  name: string;
  input?: ShapeRef;
  output?: ShapeRef;
  /** REST protocols: the method and URI template (`/clusters/{name}`) that select the operation. */
  http?: { method: string; requestUri: string; responseCode?: number };
}

export interface ServiceModel {
  metadata: {
    targetPrefix?: string;
    endpointPrefix: string;
    signingName?: string;
    protocol: string;
    apiVersion: string;
    /** Query and XML protocols: the namespace of every response document. */
    xmlNamespace?: string;
  };
  operations: Record<string, Operation>;
  shapes: Record<string, Shape>;
}

/** Where Debian's awscli keeps botocore's data; BERTH_MODELS_DIR overrides it. */
const MODEL_ROOTS = [
  process.env.BERTH_MODELS_DIR,
  "/usr/lib/python3/dist-packages/awscli/botocore/data",
  "/usr/share/awscli/botocore/data",
].filter((root): root is string => root !== undefined && root !== "");

const cache = new Map<string, ServiceModel>();

/** A supplement's structure adds members to the model's structure of the same name. */
function mergeShapes(
  base: Record<string, Shape>,
  extra: Record<string, Shape>,
): Record<string, Shape> {
  const shapes = { ...base };
  for (const [name, shape] of Object.entries(extra)) {
    const existing = base[name];
    shapes[name] =
      existing?.type === "structure" && shape.type === "structure"
        ? { ...existing, members: { ...existing.members, ...shape.members } }
        : shape;
  }
  return shapes;
}

/**
 * Loads the newest model of `service` (botocore's folder name: "ecs", "ecr", "logs", ...),
 * merged with `supplement`: operations and shapes the installed model predates.
 */
export function loadServiceModel(
  service: string,
  supplement?: Partial<ServiceModel>,
): ServiceModel {
  const cached = cache.get(service);
  if (cached !== undefined) return cached;
  for (const root of MODEL_ROOTS) {
    const dir = join(root, service);
    if (!existsSync(dir)) continue;
    const versions = readdirSync(dir).sort();
    const newest = versions[versions.length - 1];
    if (newest === undefined) continue;
    const file = join(dir, newest, "service-2.json");
    if (!existsSync(file)) continue;
    const model = JSON.parse(readFileSync(file, "utf8")) as ServiceModel;
    const merged: ServiceModel = {
      metadata: model.metadata,
      operations: { ...model.operations, ...supplement?.operations },
      shapes: mergeShapes(model.shapes, supplement?.shapes ?? {}),
    };
    cache.set(service, merged);
    return merged;
  }
  throw new BerthError(
    "ServiceModelMissing",
    `The AWS service model for '${service}' was not found (looked in ${MODEL_ROOTS.join(", ")}). ` +
      "Install Debian's awscli package (npm run setup does) or set BERTH_MODELS_DIR.",
    { fault: "server" },
  );
}
