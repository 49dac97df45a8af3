/**
 * The console's one live stream (server-sent events): what changed, not the data; a page
 * re-reads what it shows when something it shows changed. Changes are coalesced per connection
 * (a burst of 10,000 task reports is a handful of messages), and a comment every 15 s keeps
 * proxies from closing an idle stream.
 */
import type { ServerResponse } from "node:http";
import { SECURITY_HEADERS } from "./http-basics.js";

export type ConsoleChange =
  /** Without an ARN: many tasks changed (relayed from another server). */
  | { kind: "task"; taskArn?: string }
  | { kind: "service" }
  | { kind: "registry" }
  | { kind: "host" }
  | { kind: "targets" }
  | { kind: "metrics" };

/** Fed by the server (task reports, reconciler passes, the console's own writes). */
export class ConsoleChanges {
  readonly #listeners = new Set<(change: ConsoleChange) => void>();

  publish(change: ConsoleChange): void {
    for (const listener of this.#listeners) listener(change);
  }

  subscribe(listener: (change: ConsoleChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

export function openEventStream(res: ServerResponse): void {
  res.writeHead(200, {
    ...SECURITY_HEADERS,
    "Content-Type": "text/event-stream",
    "Cache-Control": "no-store",
    "X-Accel-Buffering": "no",
  });
  res.write("retry: 2000\n\n");
}

/** Whether the session a stream was opened with is still live (not signed out, not expired). */
export type SessionCheck = () => Promise<boolean>;

/** How often an open stream re-reads its session: a sign-out anywhere ends it within this. */
export const SESSION_CHECK_MS = 2_000;

/**
 * Ends a stream once its session is gone, so signing out (on any server of the store) or the
 * session's expiry also closes what that session had open.
 */
export function endWithSession(res: ServerResponse, live: SessionCheck): void {
  const check = setInterval(() => {
    live()
      .then((ok) => {
        if (!ok) res.end();
      })
      .catch(() => res.end());
  }, SESSION_CHECK_MS);
  res.on("close", () => clearInterval(check));
}

/** Streams coalesced changes until the client goes or its session ends. */
export function serveChanges(
  res: ServerResponse,
  changes: ConsoleChanges,
  live: SessionCheck,
  flushMs = 250,
): void {
  openEventStream(res);
  endWithSession(res, live);
  let tasks = new Set<string>();
  let kinds = new Set<string>();
  let many = false;
  let timer: NodeJS.Timeout | undefined;
  const flush = (): void => {
    timer = undefined;
    // Past a few hundred ARNs a page re-reads everything anyway.
    many ||= tasks.size > 200;
    const payload = { kinds: [...kinds], taskArns: many ? [] : [...tasks], manyTasks: many };
    tasks = new Set();
    kinds = new Set();
    many = false;
    res.write(`event: change\ndata: ${JSON.stringify(payload)}\n\n`);
  };
  const unsubscribe = changes.subscribe((change) => {
    kinds.add(change.kind);
    if (change.kind === "task") {
      if (change.taskArn === undefined) many = true;
      else tasks.add(change.taskArn);
    }
    timer ??= setTimeout(flush, flushMs);
  });
  const heartbeat = setInterval(() => res.write(": keep-alive\n\n"), 15_000);
  res.on("close", () => {
    unsubscribe();
    clearInterval(heartbeat);
    if (timer !== undefined) clearTimeout(timer);
  });
}
