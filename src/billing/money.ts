/**
 * Exact money and usage quantities. No binary floats ever hold an amount.
 *
 * Prices are decimals of at most 10 places, held as integer "rate units" of 1e-10 USD per
 * unit-hour. Usage is measured in whole milliseconds, so a quantity of X-hours is held as an
 * integer over QUANTITY_SCALE = 1024 × 3 600 000 (CPU units and MiB are 1/1024 of a vCPU and a
 * GB; an hour is 3 600 000 ms). An amount is rate × quantity: an integer over
 * MONEY_SCALE = 1e10 × QUANTITY_SCALE per USD. Every amount Berth computes — per task, per
 * hour, per group, per report — is an exact sum of such integers; nothing is rounded inside.
 *
 * THE ROUNDING RULE (the only one): an amount is rounded when it is presented, half away from
 * zero — to 10 decimal places in the Cost Explorer API (as AWS presents amounts), and to whole
 * cents in `berth bill`. Totals are rounded from the exact sum, never summed from rounded parts,
 * so a presented total may differ from the sum of presented rows by the rounding of each row.
 * (Savings Plans rates derived from a discount are themselves prices: see `discountedRate`.)
 */
import { BerthError } from "../core/index.js";

/** Milliseconds in an hour × 1024 (CPU units per vCPU, MiB per GB). */
export const QUANTITY_SCALE = 1024n * 3_600_000n;
/** Integer units of 1e-10 USD per USD: the resolution of every price. */
export const RATE_SCALE = 10_000_000_000n;
/** An amount is an integer over this per USD. */
export const MONEY_SCALE = RATE_SCALE * QUANTITY_SCALE;

const DECIMAL = /^(\d{1,12})(?:\.(\d{1,10}))?$/;

/** "0.04048" -> 404800000n (1e-10 units). Throws on negatives, exponents and > 10 places. */
export function parseRate(text: string, what = "price"): bigint {
  const match = DECIMAL.exec(text.trim());
  if (match === null)
    throw new BerthError(
      "InvalidPrice",
      `${what} '${text}' is not a plain decimal amount in USD with at most 10 decimal places (e.g. 0.04048)`,
    );
  const [, whole = "0", fraction = ""] = match;
  return BigInt(whole) * RATE_SCALE + BigInt(fraction.padEnd(10, "0"));
}

/** 404800000n -> "0.04048": the exact decimal, trailing zeros dropped. */
export function formatRate(units: bigint): string {
  return formatScaled(units, RATE_SCALE, 10);
}

/** Integer division rounding half away from zero. */
export function divideRounded(numerator: bigint, denominator: bigint): bigint {
  const negative = numerator < 0n !== denominator < 0n;
  const n = numerator < 0n ? -numerator : numerator;
  const d = denominator < 0n ? -denominator : denominator;
  const rounded = (n * 2n + d) / (d * 2n);
  return negative ? -rounded : rounded;
}

function formatScaled(units: bigint, scale: bigint, places: number): string {
  const negative = units < 0n;
  const abs = negative ? -units : units;
  const whole = abs / scale;
  const fraction = (abs % scale).toString().padStart(places, "0").replace(/0+$/, "");
  const text = fraction === "" ? whole.toString() : `${whole}.${fraction}`;
  return negative && text !== "0" ? `-${text}` : text;
}

/** An exact amount as Cost Explorer writes it: rounded to 10 places, no trailing zeros ("0" for none). */
export function formatAmount(amount: bigint): string {
  return formatScaled(divideRounded(amount, QUANTITY_SCALE), RATE_SCALE, 10);
}

/** An exact quantity (over QUANTITY_SCALE) rounded to 10 places, as Cost Explorer writes usage. */
export function formatQuantity(quantity: bigint): string {
  return formatScaled(divideRounded(quantity * RATE_SCALE, QUANTITY_SCALE), RATE_SCALE, 10);
}

/** An exact amount rounded to whole cents, always two places: "12.34". */
export function formatCents(amount: bigint): string {
  const cents = divideRounded(amount, MONEY_SCALE / 100n);
  const negative = cents < 0n;
  const abs = negative ? -cents : cents;
  return `${negative ? "-" : ""}${abs / 100n}.${(abs % 100n).toString().padStart(2, "0")}`;
}

/** "12.3456789" (at most 10 places, as the API returns) -> an exact amount. */
export function parseAmount(text: string): bigint {
  const negative = text.startsWith("-");
  const units = parseRate(negative ? text.slice(1) : text, "amount");
  return (negative ? -units : units) * QUANTITY_SCALE;
}

/**
 * A rate after a discount, e.g. a Savings Plan's rate from the on-demand rate and the plan's
 * discount (both in 1e-10 units; the discount 0.2 is 2e9). Rounded half up to 1e-10 USD, as a
 * published rate would be; in practice list prices times a whole-percent discount are exact.
 */
export function discountedRate(rate: bigint, discount: bigint): bigint {
  return divideRounded(rate * (RATE_SCALE - discount), RATE_SCALE);
}
