/**
 * The console's one way to the server: the session (its CSRF token kept in memory only, never
 * in storage), AWS actions through /console/api/aws/<Target>, the console's own reads, and the
 * one live change stream every page listens to.
 */
import { useEffect, useRef, useState } from "preact/hooks";

export const BASE = "/console";
export const ECS = "AmazonEC2ContainerServiceV20141113";
export const ECR = "AmazonEC2ContainerRegistry_V20150921";
export const CE = "AWSInsightsIndexService";
export const AUTOSCALING = "AnyScaleFrontendService";

export interface SessionInfo {
  accessKeyId: string;
  csrfToken: string;
  expiresAt: number;
}

let session: SessionInfo | undefined;
const sessionListeners = new Set<(s: SessionInfo | undefined) => void>();

/** Counts session changes, so that a load answered after a sign-in does not undo it. */
let sessionChanges = 0;

function setSession(next: SessionInfo | undefined): void {
  sessionChanges++;
  session = next;
  for (const listener of sessionListeners) listener(next);
  if (next === undefined) closeChanges();
}

export function onSession(listener: (s: SessionInfo | undefined) => void): () => void {
  sessionListeners.add(listener);
  return () => sessionListeners.delete(listener);
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

async function parse(res: Response): Promise<unknown> {
  const text = await res.text();
  let body: unknown;
  try {
    body = text === "" ? {} : JSON.parse(text);
  } catch {
    body = { message: text };
  }
  if (!res.ok) {
    const b = body as { code?: string; __type?: string; message?: string; Message?: string };
    if (res.status === 401 && b.code === "NoSession") setSession(undefined);
    throw new ApiError(
      res.status,
      b.code ?? b.__type?.split("#").pop() ?? String(res.status),
      b.message ?? b.Message ?? res.statusText,
    );
  }
  return body;
}

export async function loadSession(): Promise<SessionInfo | undefined> {
  // The page loads the session while a sign-in link is being exchanged: whichever answer comes
  // last, a session set meanwhile stands (the load asked before the cookie existed).
  const asked = sessionChanges;
  let loaded: SessionInfo | undefined;
  try {
    const res = await fetch(`${BASE}/api/session`, { credentials: "same-origin" });
    loaded = res.ok ? ((await res.json()) as SessionInfo) : undefined;
  } catch {
    loaded = undefined;
  }
  if (sessionChanges === asked) setSession(loaded);
  return session;
}

export async function signIn(accessKeyId: string, secretAccessKey: string): Promise<void> {
  const res = await fetch(`${BASE}/api/session`, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ accessKeyId, secretAccessKey }),
  });
  setSession((await parse(res)) as SessionInfo);
}

/** Exchanges a one-time sign-in link's token (from the URL's fragment) for a session. */
export async function signInWithLink(linkToken: string): Promise<void> {
  const res = await fetch(`${BASE}/api/session`, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ linkToken }),
  });
  setSession((await parse(res)) as SessionInfo);
}

export async function signOut(): Promise<void> {
  await fetch(`${BASE}/api/session`, {
    method: "DELETE",
    credentials: "same-origin",
    headers: { "X-Berth-Csrf": session?.csrfToken ?? "" },
  });
  setSession(undefined);
}

/** One AWS action as the signed-in key (the server runs it through the same gateway). */
export async function aws<T>(target: string, input: object = {}): Promise<T> {
  return postAction<T>(`aws/${target}`, input);
}

/** Every page of a list action: `key`'s items from each answer, following its nextToken. */
export async function listAll<T>(target: string, input: object, key: string): Promise<T[]> {
  const found: T[] = [];
  let nextToken: string | undefined;
  do {
    const page = await aws<Record<string, unknown> & { nextToken?: string }>(target, {
      ...input,
      maxResults: 100,
      ...(nextToken === undefined ? {} : { nextToken }),
    });
    found.push(...((page[key] as T[] | undefined) ?? []));
    nextToken = page.nextToken;
  } while (nextToken !== undefined);
  return found;
}

/** One action of a Query service (ELB) as the signed-in key; the console gets it as JSON. */
export async function query<T>(
  signingName: string,
  action: string,
  input: object = {},
): Promise<T> {
  return postAction<T>(`query/${signingName}/${action}`, input);
}

/** POSTs `input` as JSON to the console's API `path`, with the session's CSRF token. */
async function postAction<T>(path: string, input: object): Promise<T> {
  const res = await fetch(`${BASE}/api/${path}`, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-Berth-Csrf": session?.csrfToken ?? "" },
    body: JSON.stringify(input),
  });
  return (await parse(res)) as T;
}

export async function getJson<T>(path: string): Promise<T> {
  const res = await fetch(`${BASE}/api/${path}`, { credentials: "same-origin" });
  return (await parse(res)) as T;
}

export interface Change {
  kinds: string[];
  taskArns: string[];
  manyTasks: boolean;
}

let changes: EventSource | undefined;
const changeListeners = new Set<(change: Change) => void>();

function openChanges(): void {
  if (changes !== undefined || session === undefined) return;
  changes = new EventSource(`${BASE}/api/events`);
  changes.addEventListener("change", (event) => {
    const change = JSON.parse((event as MessageEvent<string>).data) as Change;
    for (const listener of changeListeners) listener(change);
  });
}

function closeChanges(): void {
  changes?.close();
  changes = undefined;
}

/**
 * Loads a page's data, and again (at most once a second) whenever the live stream says
 * something it shows changed. Returns the data, the error, and a reload.
 */
export function useLive<T>(
  load: () => Promise<T>,
  deps: unknown[],
  relevant: (change: Change) => boolean = () => true,
): { data: T | undefined; error: string | undefined; reload: () => void } {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const latest = useRef({ load, relevant });
  latest.current = { load, relevant };
  const state = useRef({ running: false, again: false, timer: 0, last: 0, alive: true });
  const run = (): void => {
    const s = state.current;
    if (s.running) {
      s.again = true;
      return;
    }
    s.running = true;
    s.last = Date.now();
    latest.current
      .load()
      .then((value) => {
        if (s.alive) {
          setData(value);
          setError(undefined);
        }
      })
      .catch((e: unknown) => {
        if (s.alive) setError(e instanceof Error ? e.message : String(e));
      })
      .finally(() => {
        s.running = false;
        if (s.again) {
          s.again = false;
          schedule();
        }
      });
  };
  const schedule = (): void => {
    const s = state.current;
    if (s.timer !== 0) return;
    s.timer = window.setTimeout(
      () => {
        s.timer = 0;
        run();
      },
      Math.max(0, 1000 - (Date.now() - s.last)),
    );
  };
  useEffect(() => {
    state.current.alive = true;
    run();
    openChanges();
    const listener = (change: Change): void => {
      if (latest.current.relevant(change)) schedule();
    };
    changeListeners.add(listener);
    return () => {
      state.current.alive = false;
      changeListeners.delete(listener);
      window.clearTimeout(state.current.timer);
      state.current.timer = 0;
    };
  }, deps);
  return { data, error, reload: run };
}

/**
 * A page's actions, one at a time: `busy` names the one under way, `error` is its failure (or
 * one the page sets) until the next begins, and `reload` (the page's data) runs after each.
 */
export function useActions(reload?: () => void) {
  const [busy, setBusy] = useState<string | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const act = (name: string, run: () => Promise<unknown>): void => {
    setBusy(name);
    setError(undefined);
    run()
      .catch((e: unknown) => setError(e instanceof Error ? e.message : String(e)))
      .finally(() => {
        setBusy(undefined);
        reload?.();
      });
  };
  return { busy, error, setError, act };
}
