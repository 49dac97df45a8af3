/** The pieces client commands share: SDK clients and signed requests to Berth's own endpoints. */
import { ECSClient } from "@aws-sdk/client-ecs";
import { Hash } from "@smithy/hash-node";
import { HttpRequest } from "@smithy/protocol-http";
import { SignatureV4 } from "@smithy/signature-v4";
import { BerthError } from "../core/index.js";
import type { ClientConfig } from "./config.js";

export function ecsClient(config: ClientConfig): ECSClient {
  return new ECSClient({
    endpoint: config.endpoint,
    region: config.region,
    credentials: config.credentials,
    maxAttempts: 2,
  });
}

/**
 * The SigV4 headers (service `ecs`) for a request to one of Berth's own endpoints, which are
 * authorised like any API call. `url` carries the query; `host` is left to the HTTP client.
 */
export async function signedHeaders(
  config: ClientConfig,
  method: "GET" | "POST",
  url: URL,
  body?: string,
): Promise<Record<string, string>> {
  const query: Record<string, string | string[]> = {};
  for (const key of new Set(url.searchParams.keys())) {
    const values = url.searchParams.getAll(key);
    query[key] = values.length === 1 ? (values[0] as string) : values;
  }
  const signer = new SignatureV4({
    credentials: config.credentials,
    region: config.region,
    service: "ecs",
    sha256: Hash.bind(null, "sha256"),
    applyChecksum: false,
  });
  const signed = await signer.sign(
    new HttpRequest({
      method,
      hostname: url.hostname,
      port: Number(url.port),
      path: url.pathname,
      query,
      headers: {
        host: url.host,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body }),
    }),
  );
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(signed.headers))
    if (name !== "host") headers[name] = value;
  return headers;
}

/** A SigV4-signed request to one of Berth's own endpoints. */
async function signedRequest(
  config: ClientConfig,
  method: "GET" | "POST",
  path: string,
  query: Record<string, string>,
  body?: string,
  signal?: AbortSignal,
): Promise<Response> {
  const url = new URL(path, config.endpoint);
  for (const [key, value] of Object.entries(query)) url.searchParams.set(key, value);
  const headers = await signedHeaders(config, method, url, body);
  return fetch(url, {
    method,
    headers,
    ...(body === undefined ? {} : { body }),
    ...(signal === undefined ? {} : { signal }),
  });
}

export function signedGet(
  config: ClientConfig,
  path: string,
  query: Record<string, string>,
  signal?: AbortSignal,
): Promise<Response> {
  return signedRequest(config, "GET", path, query, undefined, signal);
}

export function signedPost(config: ClientConfig, path: string, body: unknown): Promise<Response> {
  return signedRequest(config, "POST", path, {}, JSON.stringify(body));
}

export interface LogRecord {
  container?: string;
  stream?: "stdout" | "stderr";
  time?: string;
  text?: string;
  done?: boolean;
  error?: string;
}

/** Reads a task's logs as they come; resolves at the stream's end. */
export async function streamTaskLogs(
  config: ClientConfig,
  taskArn: string,
  options: { follow: boolean; container?: string; signal?: AbortSignal },
  onRecord: (record: LogRecord) => void,
): Promise<void> {
  const query: Record<string, string> = { task: taskArn };
  if (options.follow) query.follow = "1";
  if (options.container !== undefined) query.container = options.container;
  const response = await signedGet(config, "/_berth/tasks/logs", query, options.signal);
  if (!response.ok || response.body === null) {
    const body = await response.text();
    throw new BerthError("LogsUnavailable", `logs unavailable (${response.status}): ${body}`);
  }
  const decoder = new TextDecoder();
  let pending = "";
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    pending += decoder.decode(chunk, { stream: true });
    let newline = pending.indexOf("\n");
    while (newline >= 0) {
      const line = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      if (line.trim() !== "") onRecord(JSON.parse(line) as LogRecord);
      newline = pending.indexOf("\n");
    }
  }
}

/**
 * Calls one of Berth's own JSON endpoints (GET without a body, POST with one) and returns its
 * answer; a refusal becomes a BerthError with the server's code and message.
 */
export async function berthJson<T>(config: ClientConfig, path: string, body?: unknown): Promise<T> {
  const response =
    body === undefined ? await signedGet(config, path, {}) : await signedPost(config, path, body);
  const text = await response.text();
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  if (!response.ok) {
    const error = (value ?? {}) as { __type?: string; message?: string };
    throw new BerthError(
      error.__type ?? "ServerRefused",
      error.message ?? `${config.endpoint} answered ${response.status}: ${text.slice(0, 200)}`,
    );
  }
  return value as T;
}
