/**
 * Notifications between the servers that share a store: a hint that something changed, never
 * the only way a change is seen (every user of it also polls). On PostgreSQL they are
 * LISTEN/NOTIFY on a connection of their own, reopened when it drops; on SQLite only one server
 * can hold the store, so they stay inside the process.
 */
import { EventEmitter } from "node:events";
import pg from "pg";
import { sql } from "kysely";
import type { Logger } from "../core/index.js";
import { dialectOf } from "./dialect.js";
import type { Store } from "./open.js";

/** Channel names are identifiers: plain lowercase words, chosen by Berth, never by a tenant. */
export type Topic = "berth_assignments" | "berth_servers" | "berth_console";

export interface Notifier {
  /** Tells every server (this one too) about `payload`; best effort. */
  publish(topic: Topic, payload: string): Promise<void>;
  subscribe(topic: Topic, listener: (payload: string) => void): void;
  close(): Promise<void>;
}

const RECONNECT_MS = 1_000;

class LocalNotifier implements Notifier {
  readonly #events = new EventEmitter();
  publish(topic: Topic, payload: string): Promise<void> {
    this.#events.emit(topic, payload);
    return Promise.resolve();
  }
  subscribe(topic: Topic, listener: (payload: string) => void): void {
    this.#events.on(topic, listener);
  }
  close(): Promise<void> {
    this.#events.removeAllListeners();
    return Promise.resolve();
  }
}

class PostgresNotifier implements Notifier {
  readonly #events = new EventEmitter();
  readonly #topics = new Set<Topic>();
  #client: pg.Client | undefined;
  #closed = false;
  #retry: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: Store,
    private readonly url: string,
    private readonly log: Logger,
  ) {
    this.#connect();
  }

  async publish(topic: Topic, payload: string): Promise<void> {
    try {
      await sql`select pg_notify(${topic}, ${payload})`.execute(this.store);
    } catch (error) {
      // A hint lost: the others' polling picks the change up.
      this.log.debug("notification not sent", { topic, error: String(error) });
    }
  }

  subscribe(topic: Topic, listener: (payload: string) => void): void {
    this.#events.on(topic, listener);
    if (!this.#topics.has(topic)) {
      this.#topics.add(topic);
      this.#client?.query(`LISTEN ${topic}`).catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retry);
    this.#events.removeAllListeners();
    await this.#client?.end().catch(() => undefined);
  }

  #connect(): void {
    if (this.#closed) return;
    const client = new pg.Client({ connectionString: this.url });
    this.#client = client;
    const again = (): void => {
      if (this.#client !== client || this.#closed) return;
      this.#client = undefined;
      client.end().catch(() => undefined);
      this.#retry = setTimeout(() => this.#connect(), RECONNECT_MS);
    };
    client.on("error", again);
    client.on("end", again);
    client.on("notification", ({ channel, payload }) => this.#events.emit(channel, payload ?? ""));
    client
      .connect()
      .then(async () => {
        // One query at a time on one client (pg queues them, but warns that it will stop).
        for (const topic of this.#topics) await client.query(`LISTEN ${topic}`);
      })
      .catch(again);
  }
}

/** `url`: the store's PostgreSQL URL when it is one. */
export function openNotifier(store: Store, url: string | undefined, log: Logger): Notifier {
  if (dialectOf(store) === "postgres" && url !== undefined)
    return new PostgresNotifier(store, url, log);
  return new LocalNotifier();
}
