/**
 * The price book: Fargate's prices as a history of effective-dated changes, kept as a versioned
 * JSON file under the data directory (billing/price-book.json), written with the defaults on
 * first start. Operators change it with `berth prices set` (or by editing the file); a change
 * applies from its effective time on, so a bill for the past never changes. Spot prices float
 * the same way: each Spot price change is one more entry in the history.
 *
 * All prices are USD per hour: per vCPU-hour, per GB-hour of memory, per GB-hour of ephemeral
 * storage above the free 20 GB.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { BerthError, PRIVATE_DIR, PRIVATE_FILE } from "../core/index.js";
import { discountedRate, formatRate, parseRate } from "./money.js";

export const PRICE_NAMES = [
  "x86.vcpu",
  "x86.gb",
  "arm.vcpu",
  "arm.gb",
  "storage.gb",
  "spot.x86.vcpu",
  "spot.x86.gb",
  "spot.arm.vcpu",
  "spot.arm.gb",
] as const;
export type PriceName = (typeof PRICE_NAMES)[number];
/** Rates in 1e-10 USD per unit-hour. */
export type Prices = Record<PriceName, bigint>;

export const PRICE_DESCRIPTIONS: Record<PriceName, string> = {
  "x86.vcpu": "Linux/X86 per vCPU-hour",
  "x86.gb": "Linux/X86 per GB-hour",
  "arm.vcpu": "Linux/ARM per vCPU-hour",
  "arm.gb": "Linux/ARM per GB-hour",
  "storage.gb": "ephemeral storage above 20 GB, per GB-hour",
  "spot.x86.vcpu": "Spot Linux/X86 per vCPU-hour",
  "spot.x86.gb": "Spot Linux/X86 per GB-hour",
  "spot.arm.vcpu": "Spot Linux/ARM per vCPU-hour",
  "spot.arm.gb": "Spot Linux/ARM per GB-hour",
};

/**
 * The published us-east-1 Linux list prices; Spot at 70% off them (Fargate Spot floats, "up to
 * 70%" below on-demand; operators record its real history with `berth prices set`).
 */
export const DEFAULT_PRICES: Record<PriceName, string> = {
  "x86.vcpu": "0.04048",
  "x86.gb": "0.004445",
  "arm.vcpu": "0.03238",
  "arm.gb": "0.00356",
  "storage.gb": "0.000111",
  "spot.x86.vcpu": "0.012144",
  "spot.x86.gb": "0.0013335",
  "spot.arm.vcpu": "0.009714",
  "spot.arm.gb": "0.001068",
};

export interface PriceChange {
  effectiveAt: Date;
  prices: Partial<Prices>;
  note?: string;
}

const FORMAT = "berth-price-book/1";

export function isPriceName(name: string): name is PriceName {
  return (PRICE_NAMES as readonly string[]).includes(name);
}

function invalid(message: string): BerthError {
  return new BerthError("InvalidPriceBook", message);
}

export class PriceBook {
  readonly changes: readonly PriceChange[];

  /** `changes` are kept ordered by effective time; equal times keep their given order. */
  constructor(
    readonly revision: number,
    changes: readonly PriceChange[],
  ) {
    this.changes = [...changes].sort((a, b) => a.effectiveAt.getTime() - b.effectiveAt.getTime());
    const first = this.changes[0];
    const missing = PRICE_NAMES.filter((name) => first?.prices[name] === undefined);
    if (missing.length > 0)
      throw invalid(
        `the earliest price change must set every price; it lacks ${missing.join(", ")}`,
      );
  }

  static defaults(): PriceBook {
    const prices: Partial<Prices> = {};
    for (const name of PRICE_NAMES) prices[name] = parseRate(DEFAULT_PRICES[name]);
    return new PriceBook(1, [
      {
        effectiveAt: new Date(0),
        prices,
        note: "defaults: us-east-1 Linux list prices, Spot 70% off",
      },
    ]);
  }

  /** The prices in effect at `time` (ms): every change effective at or before it, in order. */
  at(time: number): Prices {
    const prices: Partial<Prices> = {};
    for (const change of this.changes) {
      // The earliest change applies to all time before it too: it is the book's baseline.
      if (change.effectiveAt.getTime() > time && change !== this.changes[0]) break;
      Object.assign(prices, change.prices);
    }
    return prices as Prices;
  }

  /** Effective times strictly inside (from, to), ascending: where a usage interval must be cut. */
  changeTimesWithin(from: number, to: number): number[] {
    const times = this.changes
      .map((c) => c.effectiveAt.getTime())
      .filter((t) => t > from && t < to);
    return [...new Set(times)];
  }

  withChange(change: PriceChange): PriceBook {
    return new PriceBook(this.revision + 1, [...this.changes, change]);
  }

  toJSON(): unknown {
    return {
      format: FORMAT,
      revision: this.revision,
      currency: "USD",
      unit: "per hour",
      changes: this.changes.map((c) => ({
        effectiveAt: c.effectiveAt.toISOString(),
        ...(c.note === undefined ? {} : { note: c.note }),
        prices: Object.fromEntries(
          Object.entries(c.prices).map(([name, rate]) => [name, formatRate(rate)]),
        ),
      })),
    };
  }

  /** Reads and checks a price book file's text; every problem names what to fix. */
  static parse(text: string, where: string): PriceBook {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (cause) {
      throw new BerthError("InvalidPriceBook", `${where} is not valid JSON`, { cause });
    }
    const doc = value as { format?: unknown; revision?: unknown; changes?: unknown };
    if (doc === null || typeof doc !== "object" || doc.format !== FORMAT)
      throw invalid(`${where}: "format" must be "${FORMAT}"`);
    if (typeof doc.revision !== "number" || !Number.isInteger(doc.revision) || doc.revision < 1)
      throw invalid(`${where}: "revision" must be a positive integer`);
    if (!Array.isArray(doc.changes) || doc.changes.length === 0)
      throw invalid(`${where}: "changes" must be a non-empty list`);
    const changes = doc.changes.map((raw: unknown, index): PriceChange => {
      const entry = raw as { effectiveAt?: unknown; prices?: unknown; note?: unknown };
      const at = typeof entry?.effectiveAt === "string" ? new Date(entry.effectiveAt) : undefined;
      if (at === undefined || Number.isNaN(at.getTime()))
        throw invalid(`${where}: changes[${index}].effectiveAt must be an ISO 8601 time`);
      if (entry.prices === null || typeof entry.prices !== "object")
        throw invalid(`${where}: changes[${index}].prices must be an object`);
      const prices: Partial<Prices> = {};
      for (const [name, rate] of Object.entries(entry.prices as Record<string, unknown>)) {
        if (!isPriceName(name))
          throw invalid(
            `${where}: changes[${index}] names unknown price '${name}' (known: ${PRICE_NAMES.join(", ")})`,
          );
        if (typeof rate !== "string")
          throw invalid(`${where}: changes[${index}].prices.${name} must be a decimal string`);
        prices[name] = parseRate(rate, `${where}: changes[${index}].prices.${name}`);
      }
      return {
        effectiveAt: at,
        prices,
        note: typeof entry.note === "string" ? entry.note : undefined,
      };
    });
    return new PriceBook(doc.revision, changes);
  }
}

/** What an operator asks to change: prices by name (USD per hour), or Spot as a discount. */
export interface PriceChangeRequest {
  prices?: Record<string, unknown>;
  /** Sets every Spot price to the on-demand one less this fraction (0.7 for 70% off). */
  spotDiscount?: string;
  /** Default: now. */
  effectiveAt?: Date;
  note?: string;
}

function changeInvalid(message: string): BerthError {
  return new BerthError("InvalidPriceChange", message);
}

/**
 * Checks an operator's change against the book and the present: it names known prices, and it
 * takes effect now or later, never in the past (that would rewrite usage already billed).
 */
export function priceChange(book: PriceBook, request: PriceChangeRequest, now: Date): PriceChange {
  const effectiveAt = request.effectiveAt ?? now;
  if (Number.isNaN(effectiveAt.getTime()))
    throw changeInvalid("the effective time must be an ISO 8601 time");
  // A second of slack for "now" typed by hand; anything earlier would rewrite billed time.
  if (effectiveAt.getTime() < now.getTime() - 1000)
    throw changeInvalid(
      `the effective time ${effectiveAt.toISOString()} is in the past; a price change applies from now on, never to usage already billed`,
    );
  const prices: Partial<Prices> = {};
  for (const [name, value] of Object.entries(request.prices ?? {})) {
    if (!isPriceName(name) || typeof value !== "string")
      throw changeInvalid(
        `'${name}' is not a price name with a USD value; names are ${PRICE_NAMES.join(", ")}`,
      );
    prices[name] = parseRate(value, name);
  }
  if (request.spotDiscount !== undefined) {
    const d = parseRate(request.spotDiscount, "the Spot discount");
    if (d >= parseRate("1"))
      throw changeInvalid("the Spot discount is a fraction below 1 (0.7 for 70% off)");
    const od = book.at(effectiveAt.getTime());
    prices["spot.x86.vcpu"] = discountedRate(od["x86.vcpu"], d);
    prices["spot.x86.gb"] = discountedRate(od["x86.gb"], d);
    prices["spot.arm.vcpu"] = discountedRate(od["arm.vcpu"], d);
    prices["spot.arm.gb"] = discountedRate(od["arm.gb"], d);
  }
  if (Object.keys(prices).length === 0)
    throw changeInvalid("name at least one price to set (e.g. spot.x86.vcpu=0.0125)");
  return { effectiveAt, prices, ...(request.note === undefined ? {} : { note: request.note }) };
}

/** Writes `text` to `path` atomically (a reader sees the old file or the new one, never half). */
export function writeFileAtomic(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: PRIVATE_DIR });
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, text, { mode: PRIVATE_FILE });
  renameSync(temp, path);
}

/**
 * A JSON document kept in a file that operators may edit while Berth runs: re-read when the
 * file changes; if an edit is invalid, the last good version stays in force (and `onError`
 * hears why) until the file is fixed.
 */
export class WatchedFile<T> {
  #stamp = "";
  #value: T | undefined;

  constructor(
    readonly path: string,
    private readonly parse: (text: string, where: string) => T,
    private readonly initial: () => T,
    private readonly serialize: (value: T) => unknown,
    private readonly onError: (error: unknown) => void = () => {},
  ) {}

  current(): T {
    if (!existsSync(this.path)) {
      const value = this.#value ?? this.initial();
      this.write(value);
      return value;
    }
    const stat = statSync(this.path);
    const stamp = `${stat.ino}:${stat.size}:${stat.mtimeMs}`;
    if (stamp !== this.#stamp || this.#value === undefined) {
      try {
        this.#value = this.parse(readFileSync(this.path, "utf8"), this.path);
        this.#stamp = stamp;
      } catch (error) {
        if (this.#value === undefined) throw error;
        this.onError(error);
        this.#stamp = stamp;
      }
    }
    return this.#value;
  }

  write(value: T): void {
    writeFileAtomic(this.path, JSON.stringify(this.serialize(value), null, 2) + "\n");
    this.#value = value;
    const stat = statSync(this.path);
    this.#stamp = `${stat.ino}:${stat.size}:${stat.mtimeMs}`;
  }
}

export function priceBookFile(path: string, onError?: (error: unknown) => void) {
  return new WatchedFile<PriceBook>(
    path,
    (text, where) => PriceBook.parse(text, where),
    () => PriceBook.defaults(),
    (book) => book.toJSON(),
    onError,
  );
}
