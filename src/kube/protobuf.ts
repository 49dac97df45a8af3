/**
 * Request bodies in Kubernetes' protobuf encoding (`application/vnd.kubernetes.protobuf`): the
 * `k8s\0` envelope around a runtime.Unknown, whose raw bytes are the object in the field numbers
 * of k8s.io/api's generated.proto. kubectl 1.32 sends its typed-client writes this way
 * (`kubectl create namespace`) and client-go falls back to JSON only from CBOR, not from
 * protobuf, so a 415 would fail the command: Berth decodes the kinds kubectl creates through a
 * typed client into the same JSON shape a JSON body has. Other kinds get the API server's 415.
 */
import { kubeTime } from "./objects.js";
import { KubeError } from "./status.js";

export const PROTOBUF = "application/vnd.kubernetes.protobuf";
const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

type Field =
  | { name: string; type: "string" | "bytes" | "bool" | "time" }
  /** `optional` marks a Go pointer: its zero is a value, not an absent field. */
  | { name: string; type: "int64"; optional?: boolean }
  | { name: string; type: "strings" | "map" }
  | { name: string; type: "message"; schema: Schema; repeated?: boolean };
type Schema = Record<number, Field>;

const OWNER_REFERENCE: Schema = {
  1: { name: "kind", type: "string" },
  3: { name: "name", type: "string" },
  4: { name: "uid", type: "string" },
  5: { name: "apiVersion", type: "string" },
  6: { name: "controller", type: "bool" },
  7: { name: "blockOwnerDeletion", type: "bool" },
};

const OBJECT_META: Schema = {
  1: { name: "name", type: "string" },
  2: { name: "generateName", type: "string" },
  3: { name: "namespace", type: "string" },
  5: { name: "uid", type: "string" },
  6: { name: "resourceVersion", type: "string" },
  7: { name: "generation", type: "int64" },
  8: { name: "creationTimestamp", type: "time" },
  9: { name: "deletionTimestamp", type: "time" },
  10: { name: "deletionGracePeriodSeconds", type: "int64", optional: true },
  11: { name: "labels", type: "map" },
  12: { name: "annotations", type: "map" },
  13: { name: "ownerReferences", type: "message", schema: OWNER_REFERENCE, repeated: true },
  14: { name: "finalizers", type: "strings" },
};

/** The kinds decoded, by `apiVersion/kind` (k8s.io/api/core/v1/generated.proto). */
const KINDS: Record<string, Schema> = {
  "v1/Namespace": {
    1: { name: "metadata", type: "message", schema: OBJECT_META },
    2: {
      name: "spec",
      type: "message",
      schema: { 1: { name: "finalizers", type: "strings" } },
    },
    3: { name: "status", type: "message", schema: { 1: { name: "phase", type: "string" } } },
  },
};

/** The object a protobuf body carries, as JSON would have carried it. */
export function decodeProtobufObject(body: Buffer): Record<string, unknown> {
  if (body.length < 4 || !body.subarray(0, 4).equals(MAGIC))
    throw unsupported("the protobuf body does not start with the Kubernetes envelope");
  const unknown = decode(body.subarray(4), {
    1: {
      name: "typeMeta",
      type: "message",
      schema: { 1: { name: "apiVersion", type: "string" }, 2: { name: "kind", type: "string" } },
    },
    2: { name: "raw", type: "bytes" },
  });
  const typeMeta = (unknown.typeMeta ?? {}) as { apiVersion?: string; kind?: string };
  const schema = KINDS[`${typeMeta.apiVersion ?? ""}/${typeMeta.kind ?? ""}`];
  if (schema === undefined)
    throw unsupported(
      `the server does not decode ${typeMeta.kind ?? "this kind"} from protobuf; send it as JSON`,
    );
  const raw = (unknown.raw as Buffer | undefined) ?? Buffer.alloc(0);
  return { apiVersion: typeMeta.apiVersion, kind: typeMeta.kind, ...decode(raw, schema) };
}

function unsupported(detail: string): KubeError {
  return new KubeError(
    "UnsupportedMediaType",
    `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml (${detail})`,
    415,
  );
}

class Reader {
  offset = 0;
  constructor(readonly bytes: Buffer) {}

  get done(): boolean {
    return this.offset >= this.bytes.length;
  }

  varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (this.offset >= this.bytes.length || shift > 63n) throw malformed();
      const byte = this.bytes[this.offset++] as number;
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7n;
    }
  }

  take(length: number): Buffer {
    if (length < 0 || this.offset + length > this.bytes.length) throw malformed();
    const slice = this.bytes.subarray(this.offset, this.offset + length);
    this.offset += length;
    return slice;
  }

  skip(wireType: number): void {
    if (wireType === 0) this.varint();
    else if (wireType === 1) this.take(8);
    else if (wireType === 2) this.take(Number(this.varint()));
    else if (wireType === 5) this.take(4);
    else throw malformed();
  }
}

function malformed(): KubeError {
  return new KubeError("BadRequest", "the protobuf body of the request is malformed", 400);
}

function decode(bytes: Buffer, schema: Schema): Record<string, unknown> {
  const reader = new Reader(bytes);
  const out: Record<string, unknown> = {};
  while (!reader.done) {
    const key = reader.varint();
    const number = Number(key >> 3n);
    const wireType = Number(key & 7n);
    const field = schema[number];
    if (field === undefined) {
      reader.skip(wireType);
      continue;
    }
    if (field.type === "int64" || field.type === "bool") {
      if (wireType !== 0) throw malformed();
      const value = BigInt.asIntN(64, reader.varint());
      if (field.type === "bool") out[field.name] = value !== 0n;
      // Go's protobuf writes zero values that JSON's omitempty leaves out.
      else if (value !== 0n || ("optional" in field && field.optional === true))
        out[field.name] = Number(value);
      continue;
    }
    if (wireType !== 2) throw malformed();
    const chunk = reader.take(Number(reader.varint()));
    switch (field.type) {
      case "string":
        if (chunk.length > 0) out[field.name] = chunk.toString("utf8");
        break;
      case "bytes":
        out[field.name] = chunk;
        break;
      case "strings":
        ((out[field.name] ??= []) as string[]).push(chunk.toString("utf8"));
        break;
      case "time": {
        // A zero time is written as an empty message and is absent in JSON.
        if (chunk.length === 0) break;
        const time = decode(chunk, {
          1: { name: "seconds", type: "int64" },
        }) as { seconds?: number };
        out[field.name] = kubeTime(new Date((time.seconds ?? 0) * 1000));
        break;
      }
      case "map": {
        const entry = decode(chunk, {
          1: { name: "key", type: "string" },
          2: { name: "value", type: "string" },
        }) as { key?: string; value?: string };
        const map = (out[field.name] ??= {}) as Record<string, string>;
        map[entry.key ?? ""] = entry.value ?? "";
        break;
      }
      case "message": {
        const value = decode(chunk, field.schema);
        if (field.repeated === true) ((out[field.name] ??= []) as unknown[]).push(value);
        else out[field.name] = value;
        break;
      }
    }
  }
  return out;
}
