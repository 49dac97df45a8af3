/**
 * Connection limits against unauthenticated exhaustion (issue 12, item 5), for every listener
 * Berth opens to clients it does not know yet: the API front, the task metadata endpoint, the
 * load balancer's listeners. A client that opens thousands of idle connections must not take
 * the process's descriptors, which its store, records and tasks need too. Each address holds at
 * most `perAddress` connections; all listeners sharing one `ConnectionBudget` hold at most its
 * `total`; a connection that has not sent its headers within `headersMs` is closed (by the HTTP
 * server's headersTimeout, set by the caller).
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import type { Server as NetServer } from "node:net";
import type { Logger } from "./log.js";

export interface ConnectionLimits {
  perAddress: number;
  total: number;
  headersMs: number;
}

/** Descriptors kept for the process itself (store, records, registry files, tasks' pipes). */
export const RESERVED_DESCRIPTORS = 1024;

function limitsLine(): RegExpExecArray | null {
  try {
    return /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/m.exec(
      readFileSync("/proc/self/limits", "utf8"),
    );
  } catch {
    return null;
  }
}

/** The process's soft limit on open files, from /proc (Node has no getrlimit). */
export function openFilesLimit(): number {
  const soft = limitsLine()?.[1];
  return soft === undefined || soft === "unlimited" ? 65536 : Number(soft);
}

/**
 * Raises this process's soft RLIMIT_NOFILE to its hard limit (as systemd services and Docker's
 * daemon run), so that the reserve above is real: a soft 1024 would leave no room at all. Node
 * has no setrlimit, so util-linux's prlimit sets it on our own pid. Returns the soft limit now.
 */
export function raiseOpenFilesLimit(log?: Logger): number {
  const line = limitsLine();
  const hard = line?.[2];
  if (line === null || hard === undefined || line[1] === hard) return openFilesLimit();
  const value = hard === "unlimited" ? "unlimited" : hard;
  const result = spawnSync(
    "prlimit",
    ["--pid", String(process.pid), `--nofile=${value}:${value}`],
    {
      encoding: "utf8",
    },
  );
  if (result.status !== 0)
    log?.warn("could not raise the open files limit to the hard limit", {
      error: result.error?.message ?? result.stderr.trim(),
    });
  return openFilesLimit();
}

/** Open connections counted across every listener that shares it. */
export interface ConnectionBudget {
  open: number;
  total: number;
}

export function connectionBudget(total: number): ConnectionBudget {
  return { open: 0, total };
}

/** Limits sized from the open files limit now in force, less the reserve. */
export function defaultConnectionLimits(
  share = 1,
  perAddress = 512,
  headersMs = 15_000,
): ConnectionLimits {
  const free = Math.max(256, openFilesLimit() - RESERVED_DESCRIPTORS);
  return { perAddress, total: Math.max(128, Math.min(16384, Math.floor(free * share))), headersMs };
}

/**
 * Applies `limits` to a listening socket (before a connection's first byte is read). With a
 * `budget`, the total is counted over every listener that shares it.
 */
export function limitConnections(
  server: NetServer,
  limits: ConnectionLimits,
  log: Logger,
  budget: ConnectionBudget = connectionBudget(limits.total),
): void {
  server.maxConnections = limits.total;
  const open = new Map<string, number>();
  let warned = 0;
  const refuse = (why: string, address: string): void => {
    if (Date.now() - warned > 60_000) {
      warned = Date.now();
      log.warn(why, { address });
    }
  };
  server.on("connection", (socket) => {
    const address = socket.remoteAddress ?? "";
    const count = (open.get(address) ?? 0) + 1;
    if (count > limits.perAddress) {
      refuse("refusing connections over the per-address limit", address);
      socket.destroy();
      return;
    }
    if (budget.open >= budget.total) {
      refuse("refusing connections: the descriptors left are kept for this process", address);
      socket.destroy();
      return;
    }
    budget.open++;
    open.set(address, count);
    socket.once("close", () => {
      budget.open--;
      const left = (open.get(address) ?? 1) - 1;
      if (left <= 0) open.delete(address);
      else open.set(address, left);
    });
  });
}
