/**
 * Berth's own registry as an agent reaches it. Image URIs name it as the server advertises it
 * (`127.0.0.1:4566` for a server on 0.0.0.0), which on another machine is that machine's own
 * loopback; the server tells each agent those names (`welcome.registryNames`) and the agent
 * pulls them from the server it is connected to, over TLS verified against the CA it pinned at
 * its join (or plainly, for the local agent of `berth up`, which never leaves the machine).
 */
import { request } from "node:https";
import { Readable } from "node:stream";

export interface OwnRegistry {
  /** `HOST:PORT` names image URIs give it. */
  names: readonly string[];
  /** Where the agent reaches it: its server's origin (`https://HOST:PORT`). */
  origin: string;
  /** The pinned CA (absent for a plain local origin). */
  caPem?: string;
}

const NO_BODY = new Set([204, 205, 304]);

/**
 * `fetch` for a TLS origin whose certificate must chain to `caPem` (Node's fetch takes no CA).
 * Like the CA pin of the channel, the name is not checked: the CA signs only this server.
 */
export function fetchTrusting(
  caPem: string,
  url: string,
  init: { headers?: Record<string, string>; signal?: AbortSignal },
): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: "GET",
        headers: init.headers ?? {},
        ca: caPem,
        checkServerIdentity: () => undefined,
        ...(init.signal === undefined ? {} : { signal: init.signal }),
      },
      (res) => {
        const headers = new Headers();
        for (const [name, value] of Object.entries(res.headers)) {
          if (value === undefined) continue;
          for (const one of Array.isArray(value) ? value : [value]) headers.append(name, one);
        }
        const status = res.statusCode ?? 502;
        const body = NO_BODY.has(status)
          ? null
          : (Readable.toWeb(res) as unknown as ReadableStream<Uint8Array>);
        if (body === null) res.resume();
        resolve(new Response(body, { status, statusText: res.statusMessage ?? "", headers }));
      },
    );
    // As fetch does: an abort is itself, anything else "fetch failed" with the system's cause.
    req.on("error", (error) =>
      reject(error.name === "AbortError" ? error : new TypeError("fetch failed", { cause: error })),
    );
    req.end();
  });
}
