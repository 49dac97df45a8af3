/**
 * Cost Explorer amounts (decimal strings, at most 10 places) summed exactly and rounded to
 * cents half away from zero from the exact sum: the rule `berth bill` follows
 * (src/billing/money.ts), so the console's totals are the CLI's to the cent.
 */
const DECIMAL = /^(-?)(\d+)(?:\.(\d{1,10}))?$/;

/** "12.3456789" -> 123456789000n (1e-10 USD). */
export function parseAmount(text: string): bigint {
  const match = DECIMAL.exec(text.trim());
  if (match === null) return 0n;
  const units =
    BigInt(match[2] ?? "0") * 10_000_000_000n + BigInt((match[3] ?? "").padEnd(10, "0"));
  return match[1] === "-" ? -units : units;
}

export function formatCents(units: bigint): string {
  const negative = units < 0n;
  const abs = negative ? -units : units;
  const cents = (abs * 2n + 100_000_000n) / 200_000_000n;
  return `${negative && cents !== 0n ? "-" : ""}${cents / 100n}.${(cents % 100n).toString().padStart(2, "0")}`;
}
