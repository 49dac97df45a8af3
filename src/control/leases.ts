/**
 * Leader leases: of all the servers on one database, one at a time runs each singleton role
 * (the reconciler, host liveness, auto scaling, Spot, log retention). A lease is a row
 * (`leases`: role, holder, epoch, expires_at) renewed on the database's clock, so servers whose
 * clocks disagree still agree on who leads.
 *
 * - Acquiring bumps the epoch; renewing keeps it. A holder that lost its lease and takes it
 *   again is a new epoch, so nothing of its old term passes a fence.
 * - The holder stops acting before its lease can expire: it trusts a renewal only for
 *   `ttl - margin` measured on its own monotonic clock from before it asked.
 * - `fence(trx)` inside a role's transaction checks, by a row-locking update, that this holder
 *   still leads in this epoch; a deposed leader's transaction changes nothing and it steps down.
 *
 * Why lease rows rather than PostgreSQL advisory locks: advisory locks live in one session, so
 * a leader whose connection pool reconnects loses its lock without knowing when, they exist
 * only on PostgreSQL (SQLite would need another path), and they carry no epoch to fence with.
 */
import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import { sql, type Transaction } from "kysely";
import { BerthError, silentLogger, type Logger } from "../core/index.js";
import { databaseNowMs, type Database, type Store } from "../store/index.js";

export class LeaseLost extends BerthError {
  constructor(role: string) {
    super("LeaseLost", `this server no longer leads '${role}'`, { fault: "server" });
  }
}

export interface LeaseOptions {
  store: Store;
  role: string;
  /**
   * Who asks: unique per server (its data dir), so a restarted server takes its own lease
   * back at once, in a new epoch. Default: a new id per Lease.
   */
  holder?: string;
  /** How long a lease lasts without renewal. */
  ttlMs?: number;
  /** How often the holder renews (and a follower tries to take over). Default ttl / 3. */
  renewEveryMs?: number;
  log?: Logger;
  /** Called when this server becomes the leader (with its epoch), and when it stops being. */
  onAcquired?: (epoch: number) => void;
  onLost?: () => void;
}

export const DEFAULT_LEASE_TTL_MS = 10_000;

/**
 * Called first inside a leader role's transaction (a lease's `fence`): throws, and so rolls the
 * transaction back, when this server no longer leads in the epoch it acted for.
 */
export type Fence = (trx: Transaction<Database>) => Promise<void>;

export class Lease {
  readonly role: string;
  readonly holder: string;
  readonly #store: Store;
  readonly #ttlMs: number;
  readonly #renewEveryMs: number;
  readonly #log: Logger;
  #onAcquired: ((epoch: number) => void) | undefined;
  #onLost: (() => void) | undefined;
  #epoch: number | undefined;
  /** performance.now() until which this holder may act without a newer renewal. */
  #validUntil = 0;
  #timer: NodeJS.Timeout | undefined;
  #stepDownTimer: NodeJS.Timeout | undefined;
  #attempt: Promise<void> | undefined;
  #stopped = false;

  constructor(options: LeaseOptions) {
    this.#onAcquired = options.onAcquired;
    this.#onLost = options.onLost;
    this.#store = options.store;
    this.role = options.role;
    this.holder = options.holder ?? randomUUID();
    this.#ttlMs = options.ttlMs ?? DEFAULT_LEASE_TTL_MS;
    this.#renewEveryMs = options.renewEveryMs ?? Math.floor(this.#ttlMs / 3);
    this.#log = options.log ?? silentLogger;
  }

  /** Who hears of this server becoming the leader and of it stepping down. */
  on(onAcquired: (epoch: number) => void, onLost: () => void): void {
    this.#onAcquired = onAcquired;
    this.#onLost = onLost;
  }

  /** The epoch this server leads in, while it may act; undefined otherwise. */
  get epoch(): number | undefined {
    return this.isHeld() ? this.#epoch : undefined;
  }

  isHeld(): boolean {
    return this.#epoch !== undefined && performance.now() < this.#validUntil;
  }

  /** One attempt: renew if held, otherwise take it if it is free or expired. */
  async tryAcquire(): Promise<boolean> {
    const askedAt = performance.now();
    // Trust a renewal for less than its length: clocks may run at slightly different rates.
    const margin = Math.max(50, this.#ttlMs / 10);
    const now = databaseNowMs(this.#store);
    const expiresAt = sql<number>`${now} + ${this.#ttlMs}`;
    let epoch: number | undefined;
    if (this.#epoch !== undefined) {
      const renewed = await this.#store
        .updateTable("leases")
        .set({ expires_at: expiresAt })
        .where("role", "=", this.role)
        .where("holder", "=", this.holder)
        .where("epoch", "=", this.#epoch)
        .where("expires_at", ">", now)
        .executeTakeFirst();
      if (renewed.numUpdatedRows > 0n) epoch = this.#epoch;
    }
    if (epoch === undefined) {
      const taken = await this.#store
        .insertInto("leases")
        .values({ role: this.role, holder: this.holder, epoch: 1, expires_at: expiresAt })
        .onConflict((oc) =>
          oc
            .column("role")
            .doUpdateSet({
              holder: this.holder,
              epoch: sql<number>`leases.epoch + 1`,
              expires_at: expiresAt,
            })
            // Free once expired; at once for this same server restarted (its data dir's lock
            // makes it the only process with this holder id), still as a new epoch.
            .where((eb) =>
              eb.or([eb("leases.expires_at", "<=", now), eb("leases.holder", "=", this.holder)]),
            ),
        )
        .returning("epoch")
        .executeTakeFirst();
      epoch = taken === undefined ? undefined : Number(taken.epoch);
    }
    if (epoch === undefined) {
      this.#stepDown();
      return false;
    }
    // A new epoch is a new term: the old one ends (its roles stop) before this one begins.
    if (this.#epoch !== undefined && this.#epoch !== epoch) this.#stepDown();
    const wasHeld = this.#epoch === epoch && this.isHeld();
    this.#epoch = epoch;
    this.#validUntil = askedAt + this.#ttlMs - margin;
    this.#armStepDown();
    if (!wasHeld) {
      this.#log.info("leading", { role: this.role, epoch });
      this.#onAcquired?.(epoch);
    }
    return true;
  }

  /**
   * Inside a role's transaction, before its writes: proves this holder still leads in its
   * epoch (and holds the row against a takeover until the transaction ends).
   */
  async fence(trx: Transaction<Database>): Promise<void> {
    const epoch = this.epoch;
    const result =
      epoch === undefined
        ? undefined
        : await trx
            .updateTable("leases")
            .set({ epoch })
            .where("role", "=", this.role)
            .where("holder", "=", this.holder)
            .where("epoch", "=", epoch)
            .where("expires_at", ">", databaseNowMs(trx))
            .executeTakeFirst();
    if (result === undefined || result.numUpdatedRows === 0n) {
      this.#stepDown();
      throw new LeaseLost(this.role);
    }
  }

  start(): void {
    this.#stopped = false;
    const tick = (): void => {
      this.#attempt = this.tryAcquire()
        .then(() => undefined)
        .catch((error: unknown) => {
          // The database is unreachable: keep trying; the step-down timer ends the term.
          this.#log.warn("lease renewal failed", { role: this.role, error: String(error) });
        })
        .finally(() => {
          this.#attempt = undefined;
          // The server's listener keeps the process alive; a lease alone does not.
          if (!this.#stopped) this.#timer = setTimeout(tick, this.#renewEveryMs).unref();
        });
    };
    tick();
  }

  /**
   * Stops renewing and gives the lease up, so a successor need not wait for it to expire. The
   * row stays (expired), so the successor's epoch still counts up from this one.
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#attempt;
    const epoch = this.#epoch;
    this.#stepDown();
    if (epoch === undefined) return;
    await this.#store
      .updateTable("leases")
      .set({ expires_at: 0 })
      .where("role", "=", this.role)
      .where("holder", "=", this.holder)
      .where("epoch", "=", epoch)
      .execute()
      .catch(() => undefined);
  }

  #armStepDown(): void {
    clearTimeout(this.#stepDownTimer);
    // Timers may fire a little early by performance.now(): then look again.
    this.#stepDownTimer = setTimeout(
      () => {
        if (this.isHeld()) this.#armStepDown();
        else this.#stepDown();
      },
      Math.max(1, Math.ceil(this.#validUntil - performance.now())),
    ).unref();
  }

  #stepDown(): void {
    clearTimeout(this.#stepDownTimer);
    if (this.#epoch === undefined) return;
    const epoch = this.#epoch;
    this.#epoch = undefined;
    this.#validUntil = 0;
    this.#log.warn("no longer leading", { role: this.role, epoch });
    this.#onLost?.();
  }
}

/** Something that runs only on the leader: started when it leads, stopped when it no longer does. */
export interface LeaderRole {
  name: string;
  start(): void;
  stop(): Promise<void> | void;
}

/**
 * Runs `roles` while `lease` is held: all start when this server becomes the leader and stop
 * (in reverse order) when it steps down. `stop()` gives the lease up once every role stopped.
 */
export function leadRoles(
  lease: Lease,
  roles: LeaderRole[],
  log: Logger = silentLogger,
): { stop(): Promise<void> } {
  let stopping: Promise<void> = Promise.resolve();
  const onAcquired = (): void => {
    // A term that ends while the previous one is still stopping starts after it.
    stopping = stopping.then(() => {
      for (const role of roles) role.start();
    });
  };
  const onLost = (): void => {
    stopping = stopping.then(async () => {
      for (const role of [...roles].reverse()) {
        try {
          await role.stop();
        } catch (error) {
          log.error("stopping a leader role failed", { role: role.name, error: String(error) });
        }
      }
    });
  };
  lease.on(onAcquired, onLost);
  lease.start();
  return {
    async stop() {
      await lease.stop();
      await stopping;
    },
  };
}
