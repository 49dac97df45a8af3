/**
 * Manifest documents: the four kinds the registry stores (OCI image manifest and index, Docker
 * schema 2 manifest and manifest list), parsed strictly enough that a stored manifest always
 * names what it references, its subject and its artifact type.
 */
import { RegistryError } from "./errors.js";
import { isDigest } from "./names.js";

export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
export const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
export const DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
export const DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";
const DOCKER_SCHEMA1 = [
  "application/vnd.docker.distribution.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.v1+prettyjws",
];
const FOREIGN_LAYERS = [
  "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
  "application/vnd.oci.image.layer.nondistributable.v1.tar",
  "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
  "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
];

export const MANIFEST_TYPES = [OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST];
/** Manifests larger than this are refused; the spec asks registries to take at least 4 MiB. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
  platform?: { os?: string; architecture?: string; variant?: string };
  urls?: string[];
}

export interface ParsedManifest {
  mediaType: string;
  /** Blobs that must exist in the repository: config and (non-foreign) layers. */
  blobs: Descriptor[];
  /** Manifests an index or list references; they must exist in the repository. */
  manifests: Descriptor[];
  subject?: string;
  artifactType?: string;
  annotations?: Record<string, string>;
  /** Config plus layers, what ECR reports as the image size. */
  imageSize: number;
}

const invalid = (message: string, detail?: unknown): RegistryError =>
  new RegistryError("MANIFEST_INVALID", message, detail);

function descriptor(value: unknown, where: string): Descriptor {
  if (value === null || typeof value !== "object" || Array.isArray(value))
    throw invalid(`${where} is not a descriptor`);
  const d = value as Record<string, unknown>;
  if (typeof d.mediaType !== "string") throw invalid(`${where}.mediaType is missing`);
  if (typeof d.digest !== "string" || !isDigest(d.digest))
    throw invalid(`${where}.digest is not a valid digest`, { digest: d.digest });
  if (typeof d.size !== "number" || !Number.isSafeInteger(d.size) || d.size < 0)
    throw invalid(`${where}.size is not a size`);
  return d as unknown as Descriptor;
}

function descriptors(value: unknown, where: string): Descriptor[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw invalid(`${where} is not a list`);
  return value.map((item, index) => descriptor(item, `${where}[${index}]`));
}

/**
 * Parses a manifest PUT with `contentType`. The media type is the Content-Type, or the
 * document's own `mediaType` when the client sent none; when both are there they must agree.
 */
export function parseManifest(bytes: Buffer, contentType: string | undefined): ParsedManifest {
  let doc: Record<string, unknown>;
  try {
    const value: unknown = JSON.parse(bytes.toString("utf8"));
    if (value === null || typeof value !== "object" || Array.isArray(value))
      throw invalid("manifest is not a JSON object");
    doc = value as Record<string, unknown>;
  } catch (error) {
    if (error instanceof RegistryError) throw error;
    throw invalid("manifest is not valid JSON");
  }
  const declared = typeof doc.mediaType === "string" ? doc.mediaType : undefined;
  const header = contentType?.split(";", 1)[0]?.trim();
  const headerType = header === "" || header === "application/json" ? undefined : header;
  if (headerType !== undefined && declared !== undefined && headerType !== declared)
    throw invalid("manifest mediaType does not match Content-Type", {
      contentType: headerType,
      mediaType: declared,
    });
  let mediaType = headerType ?? declared;
  if (mediaType === undefined)
    // An OCI manifest may leave mediaType out; its shape says which one it is.
    mediaType = Array.isArray(doc.manifests) ? OCI_INDEX : OCI_MANIFEST;
  if (DOCKER_SCHEMA1.includes(mediaType))
    throw new RegistryError("UNSUPPORTED", "Docker schema 1 manifests are not supported", {
      mediaType,
    });
  if (!MANIFEST_TYPES.includes(mediaType))
    throw invalid(`unsupported manifest media type ${mediaType}`, { mediaType });
  if (doc.schemaVersion !== 2) throw invalid("schemaVersion must be 2");

  const subject = doc.subject === undefined ? undefined : descriptor(doc.subject, "subject");
  const annotations = isStringMap(doc.annotations) ? doc.annotations : undefined;
  const artifactType = typeof doc.artifactType === "string" ? doc.artifactType : undefined;

  if (mediaType === OCI_INDEX || mediaType === DOCKER_LIST) {
    if (!Array.isArray(doc.manifests)) throw invalid("manifests is missing");
    const manifests = descriptors(doc.manifests, "manifests");
    return {
      mediaType,
      blobs: [],
      manifests,
      subject: subject?.digest,
      artifactType,
      annotations,
      imageSize: 0,
    };
  }
  const config = descriptor(doc.config, "config");
  if (!Array.isArray(doc.layers) && mediaType === DOCKER_MANIFEST)
    throw invalid("layers is missing");
  const layers = descriptors(doc.layers, "layers");
  const required = layers.filter(
    (layer) => !(FOREIGN_LAYERS.includes(layer.mediaType) && (layer.urls?.length ?? 0) > 0),
  );
  return {
    mediaType,
    blobs: [config, ...required],
    manifests: [],
    subject: subject?.digest,
    // The spec: without artifactType, an image manifest's artifact type is its config's type
    // (ECR reports the same as artifactMediaType, for Docker manifests too).
    artifactType: artifactType ?? config.mediaType,
    annotations,
    imageSize: config.size + layers.reduce((sum, layer) => sum + layer.size, 0),
  };
}

function isStringMap(value: unknown): value is Record<string, string> {
  return (
    value !== null &&
    typeof value === "object" &&
    !Array.isArray(value) &&
    Object.values(value).every((v) => typeof v === "string")
  );
}

/** Children of an index or list, for choosing a platform when a client cannot take a list. */
export function indexEntries(bytes: Buffer): Descriptor[] {
  const doc = JSON.parse(bytes.toString("utf8")) as { manifests?: unknown };
  return descriptors(doc.manifests, "manifests");
}
