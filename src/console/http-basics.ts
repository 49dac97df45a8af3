/**
 * What every console answer shares: the security headers (a CSP without inline scripts, no
 * framing, no sniffing), the session cookie's form, and small JSON answers.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { TLSSocket } from "node:tls";

export const CONSOLE_PATH = "/console";
export const SESSION_COOKIE = "berth_console";

/** Scripts and styles from the console's own bundle only; nothing inline, nothing framed. */
export const SECURITY_HEADERS: Record<string, string> = {
  "Content-Security-Policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  "X-Content-Type-Options": "nosniff",
  "X-Frame-Options": "DENY",
  "Referrer-Policy": "no-referrer",
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Resource-Policy": "same-origin",
};

export function sendJson(
  res: ServerResponse,
  status: number,
  value: unknown,
  headers: Record<string, string | string[]> = {},
): void {
  const body = JSON.stringify(value);
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    "Content-Type": "application/json",
    "Cache-Control": "no-store",
    "Content-Length": Buffer.byteLength(body),
    ...headers,
  });
  res.end(body);
}

/** An error the console's own endpoints answer: `{code, message}`. */
export function sendError(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): void {
  sendJson(res, status, { code, message }, headers);
}

export function readCookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

function isTls(req: IncomingMessage): boolean {
  return (req.socket as Partial<TLSSocket>).encrypted === true;
}

/** The session cookie: script cannot read it, no other site sends it, it ends with the session. */
export function sessionCookie(req: IncomingMessage, token: string, maxAgeSeconds: number): string {
  return (
    `${SESSION_COOKIE}=${token}; Path=${CONSOLE_PATH}; HttpOnly; SameSite=Strict; ` +
    `Max-Age=${maxAgeSeconds}${isTls(req) ? "; Secure" : ""}`
  );
}

/**
 * Whether a state-changing request comes from the console's own origin: a browser always sends
 * Origin on a cross-origin POST, so one that names another host is refused outright.
 */
export function sameOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}
