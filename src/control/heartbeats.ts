/**
 * Recording agents' heartbeats (`host_liveness.last_seen_at`, what the leader's liveness pass
 * reads) in batches: every host heard from within `flushMs` is written by one statement, and a
 * host this server wrote within `writeEveryMs` is not written again yet. One UPDATE per
 * heartbeat was 2,500 statements a second at 5,000 hosts heartbeating every 2 s, each a
 * round trip on PostgreSQL through the server's one event loop.
 *
 * Liveness stays correct: a batch writes the time its first heartbeat arrived, so a host is
 * never recorded as heard later than it was; the leader may see a live host as silent for up to
 * the heartbeat interval plus `writeEveryMs` plus `flushMs`, and the server chooses
 * `writeEveryMs` from its host timeout so that stays well inside it (`writeEveryFor`).
 */
import type { Clock, Logger } from "../core/index.js";
import { anyOf, dialectOf, type Store } from "../store/index.js";

/** How often agents heartbeat when their server names no interval (agent/channel.ts). */
export const AGENT_HEARTBEAT_MS = 2_000;
/** The longest heartbeat interval a server asks its agents for. */
export const MAX_HEARTBEAT_MS = 5_000;
/** How long heartbeats gather before one statement writes them. */
export const HEARTBEAT_FLUSH_MS = 250;

/**
 * How often a server asks its agents to heartbeat (in `welcome`), for a host timeout: a sixth of
 * it, from 2 s up to 5 s (5 s at the default 30 s). Every heartbeat is a message the server reads,
 * decrypts and parses, and the host writes, though the server writes a host's liveness only every
 * `writeEveryFor`: at 5,000 hosts every 2 s that was 2,500 messages a second, about two for every
 * task placed in bench:placement (PostgreSQL, one server, 1,300 tasks/s).
 */
export function heartbeatEveryFor(hostTimeoutMs: number): number {
  return Math.max(AGENT_HEARTBEAT_MS, Math.min(MAX_HEARTBEAT_MS, Math.floor(hostTimeoutMs / 6)));
}

/**
 * How long a host's last write may stand before a heartbeat is written again, for a host
 * timeout: what the leader can then see as silence from a live host (one heartbeat interval,
 * this, one flush) is at most half the timeout. 0 (every heartbeat written) for short timeouts;
 * at most 10 s, so what the console shows as last heard stays recent.
 */
export function writeEveryFor(
  hostTimeoutMs: number,
  heartbeatMs = heartbeatEveryFor(hostTimeoutMs),
): number {
  const slack = hostTimeoutMs / 2 - heartbeatMs - HEARTBEAT_FLUSH_MS;
  return Math.max(0, Math.min(10_000, Math.floor(slack)));
}

export interface HeartbeatOptions {
  flushMs?: number;
  writeEveryMs?: number;
}

export class HeartbeatWriter {
  /** Hosts heard from since the last flush, and when the first of them was. */
  #pending = new Set<string>();
  #since: number | undefined;
  /** When this server last wrote each host's last_seen_at (its heartbeat time). */
  readonly #written = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  readonly #flushMs: number;
  readonly #writeEveryMs: number;

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly log: Logger,
    options: HeartbeatOptions = {},
  ) {
    this.#flushMs = options.flushMs ?? HEARTBEAT_FLUSH_MS;
    this.#writeEveryMs = options.writeEveryMs ?? 0;
  }

  /** A heartbeat from `hostId` arrived now. */
  heard(hostId: string): void {
    const now = this.clock.now().getTime();
    const last = this.#written.get(hostId);
    if (last !== undefined && now - last < this.#writeEveryMs) return;
    this.#since ??= now;
    this.#pending.add(hostId);
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      void this.flush();
    }, this.#flushMs);
  }

  /** `hostId`'s last_seen_at was written `at` by something else (its hello, a report). */
  wrote(hostId: string, at: number): void {
    this.#written.set(hostId, at);
  }

  /** A host whose channel closed: its next heartbeat (on any server) is written at once. */
  forget(hostId: string): void {
    this.#written.delete(hostId);
    this.#pending.delete(hostId);
  }

  /** Writes what is pending now, in one statement. */
  async flush(): Promise<void> {
    const since = this.#since;
    const hosts = [...this.#pending];
    this.#pending = new Set();
    this.#since = undefined;
    if (since === undefined || hosts.length === 0) return;
    try {
      const postgres = dialectOf(this.store) === "postgres";
      await this.store
        .updateTable("host_liveness")
        .set({ last_seen_at: since })
        .where(
          "host_id",
          "in",
          postgres
            ? // Rows locked in host order, and a row another transaction holds passed over, never
              // waited for: a batch of reports (which locks its hosts' rows in host order, and
              // writes a later time itself), a hello (likewise), or the leader deciding the host is
              // lost (which read the time it decides on already). Waiting here deadlocked with
              // batches of reports (45 times in a 10 s bench:placement at 2,000 hosts).
              (eb) =>
                eb
                  .selectFrom("host_liveness as held")
                  .select("held.host_id")
                  .where(anyOf(this.store, "held.host_id", hosts))
                  .where("held.last_seen_at", "<", since)
                  .orderBy("held.host_id")
                  .forUpdate()
                  .skipLocked()
            : hosts,
        )
        // Never backwards: a report applied meanwhile may have written a later time.
        .where("last_seen_at", "<", since)
        .execute();
      for (const host of hosts) this.#written.set(host, since);
    } catch (error) {
      this.log.warn("recording heartbeats failed", { hosts: hosts.length, error: String(error) });
    }
  }

  close(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
