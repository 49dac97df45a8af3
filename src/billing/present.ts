/**
 * Presenting a bill to a person: a table with a total, or CSV for a spreadsheet. This is where
 * amounts become cents (half away from zero, from the exact amount; see money.ts), and the
 * total is rounded from the exact sum.
 */
import { divideRounded, formatCents } from "./money.js";

export interface BillRow {
  label: string;
  /** Exact amount, over MONEY_SCALE. */
  amount: bigint;
}

export type BillFormat = "table" | "csv";

export interface BillOptions {
  format: BillFormat;
  /** Heading of the label column, e.g. "TEAM" or "USAGE TYPE". */
  by: string;
  /** One line above the table, e.g. the period and metric. */
  title?: string;
}

function share(amount: bigint, total: bigint): string {
  if (total === 0n) return "-";
  const tenths = divideRounded(amount * 1000n, total);
  return `${tenths / 10n}.${(tenths < 0n ? -tenths : tenths) % 10n}%`;
}

function csvField(text: string): string {
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Rows are shown largest first, then by label; the total is the exact sum of the rows. */
export function renderBill(rows: readonly BillRow[], options: BillOptions): string {
  const sorted = [...rows].sort((a, b) =>
    a.amount === b.amount ? (a.label < b.label ? -1 : 1) : a.amount > b.amount ? -1 : 1,
  );
  const total = rows.reduce((sum, row) => sum + row.amount, 0n);
  if (options.format === "csv") {
    const lines = [[options.by.toLowerCase().replace(/\s+/g, "_"), "cost_usd", "share"].join(",")];
    for (const row of sorted)
      lines.push(
        [csvField(row.label), formatCents(row.amount), share(row.amount, total)].join(","),
      );
    lines.push(["TOTAL", formatCents(total), share(total, total)].join(","));
    return lines.join("\n") + "\n";
  }
  const labelWidth = Math.max(options.by.length, 5, ...sorted.map((r) => r.label.length));
  const amounts = sorted.map((r) => formatCents(r.amount));
  const amountWidth = Math.max(
    "COST (USD)".length,
    formatCents(total).length,
    ...amounts.map((a) => a.length),
  );
  const line = (label: string, amount: string, pct: string) =>
    `${label.padEnd(labelWidth)}  ${amount.padStart(amountWidth)}  ${pct.padStart(6)}`;
  const out: string[] = [];
  if (options.title !== undefined) out.push(options.title, "");
  out.push(line(options.by, "COST (USD)", "SHARE"));
  sorted.forEach((row, i) =>
    out.push(line(row.label, amounts[i] as string, share(row.amount, total))),
  );
  out.push("-".repeat(labelWidth + amountWidth + 10));
  out.push(line("TOTAL", formatCents(total), share(total, total)));
  return out.join("\n") + "\n";
}
