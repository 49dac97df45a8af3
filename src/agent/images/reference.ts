/**
 * Image references as Docker reads them: `[host[:port]/]repo[:tag][@sha256:digest]`. A first
 * component with a dot, a colon or `localhost` is a registry host; otherwise Docker Hub, where
 * one-part names live under `library/`. With neither tag nor digest the tag is `latest`.
 */
import { BerthError } from "../../core/index.js";
import { ImageErrorCode } from "./errors.js";

export interface ImageReference {
  /** `host[:port]` of the registry. */
  registry: string;
  repository: string;
  tag?: string;
  digest?: string;
}

const DIGEST = /^sha(256:[a-f0-9]{64}|512:[a-f0-9]{128})$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;

function invalid(reference: string, why: string): BerthError {
  return new BerthError(
    ImageErrorCode.InvalidReference,
    `invalid image reference ${JSON.stringify(reference)}: ${why}`,
  );
}

/** Parses a reference; throws InvalidImageReference when it is not one. */
export function parseReference(reference: string): ImageReference {
  let rest = reference.trim();
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw invalid(reference, "bad digest");
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw invalid(reference, "bad tag");
  }
  let registry = "registry-1.docker.io";
  let repository = rest;
  const slash = rest.indexOf("/");
  const first = slash >= 0 ? rest.slice(0, slash) : "";
  if (first && (first.includes(".") || first.includes(":") || first === "localhost")) {
    registry = first;
    repository = rest.slice(slash + 1);
  } else if (slash < 0) {
    repository = `library/${rest}`;
  }
  if (!repository || !repository.split("/").every((part) => COMPONENT.test(part))) {
    throw invalid(reference, "bad repository name");
  }
  if (!tag && !digest) tag = "latest";
  return { registry, repository, tag, digest };
}

export function formatReference(ref: ImageReference): string {
  const tag = ref.tag ? `:${ref.tag}` : "";
  return `${ref.registry}/${ref.repository}${tag}${ref.digest ? `@${ref.digest}` : ""}`;
}

/** Loopback registries speak plain HTTP (as Docker allows for them); others HTTPS. */
export function isLoopbackRegistry(registry: string): boolean {
  const host = registry.replace(/:\d+$/, "").replace(/^\[|\]$/g, "");
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}
