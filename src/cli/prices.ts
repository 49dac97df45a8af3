/**
 * `berth prices list|set`: the price book in the local data directory. A change takes effect
 * from its effective time (default: now) and never before, so bills already run stay as they were;
 * a running Berth picks the file up on its next report.
 */
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import {
  PRICE_DESCRIPTIONS,
  PRICE_NAMES,
  billingPaths,
  discountedRate,
  formatRate,
  isPriceName,
  parseRate,
  priceBookFile,
  type Prices,
} from "../billing/index.js";
import { BerthError } from "../core/index.js";
import { defaultDataDir } from "./config.js";

export const PRICES_USAGE = `Usage: berth prices list [--at TIME] [--history] [--data-dir DIR]
       berth prices set NAME=USD ... [--effective TIME] [--note TEXT] [--data-dir DIR]
       berth prices set --spot-discount 0.65 [--effective TIME]
  Prices are USD per hour: ${PRICE_NAMES.join(", ")}.
  TIME is ISO 8601 (2026-12-01T00:00:00Z) or "now" (the default for --effective);
  a change cannot take effect in the past.`;

function time(text: string | undefined, flag: string): Date {
  if (text === undefined || text === "now") return new Date();
  const date = new Date(text);
  if (Number.isNaN(date.getTime()))
    throw new BerthError(
      "InvalidArgument",
      `${flag} must be an ISO 8601 time or "now", not '${text}'`,
    );
  return date;
}

export async function prices(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const [sub, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    options: {
      at: { type: "string" },
      history: { type: "boolean", default: false },
      effective: { type: "string" },
      note: { type: "string" },
      "spot-discount": { type: "string" },
      "data-dir": { type: "string" },
    },
    allowPositionals: true,
    strict: true,
  });
  const file = priceBookFile(
    billingPaths(resolve(values["data-dir"] ?? defaultDataDir(env))).priceBook,
  );
  if (sub === "list") {
    const book = file.current();
    const at = time(values.at, "--at");
    const current = book.at(at.getTime());
    process.stdout.write(
      `Price book revision ${book.revision}, prices in effect at ${at.toISOString()} (USD per hour):\n`,
    );
    for (const name of PRICE_NAMES)
      process.stdout.write(
        `  ${name.padEnd(14)} ${formatRate(current[name]).padStart(12)}  ${PRICE_DESCRIPTIONS[name]}\n`,
      );
    if (values.history) {
      process.stdout.write("\nHistory:\n");
      for (const change of book.changes) {
        const set = Object.entries(change.prices).map(([n, r]) => `${n}=${formatRate(r)}`);
        process.stdout.write(
          `  ${change.effectiveAt.toISOString()}  ${set.join(" ")}${change.note ? `  (${change.note})` : ""}\n`,
        );
      }
    }
    process.stdout.write(`\nFile: ${file.path}\n`);
    return 0;
  }
  if (sub === "set") {
    const book = file.current();
    const effectiveAt = time(values.effective, "--effective");
    // A second of slack for "now" typed by hand; anything earlier would rewrite billed time.
    if (effectiveAt.getTime() < Date.now() - 1000)
      throw new BerthError(
        "InvalidArgument",
        `--effective ${effectiveAt.toISOString()} is in the past; a price change applies from now on, never to usage already billed`,
      );
    const change: Partial<Prices> = {};
    for (const pair of positionals) {
      const [name, value] = pair.split("=", 2);
      if (name === undefined || value === undefined || !isPriceName(name))
        throw new BerthError(
          "InvalidArgument",
          `'${pair}' is not NAME=USD with NAME one of ${PRICE_NAMES.join(", ")}`,
        );
      change[name] = parseRate(value, name);
    }
    const discount = values["spot-discount"];
    if (discount !== undefined) {
      const d = parseRate(discount, "--spot-discount");
      if (d >= parseRate("1"))
        throw new BerthError(
          "InvalidArgument",
          "--spot-discount is a fraction below 1 (0.7 for 70% off)",
        );
      const od = book.at(effectiveAt.getTime());
      change["spot.x86.vcpu"] = discountedRate(od["x86.vcpu"], d);
      change["spot.x86.gb"] = discountedRate(od["x86.gb"], d);
      change["spot.arm.vcpu"] = discountedRate(od["arm.vcpu"], d);
      change["spot.arm.gb"] = discountedRate(od["arm.gb"], d);
    }
    if (Object.keys(change).length === 0)
      throw new BerthError(
        "InvalidArgument",
        "name at least one price to set (e.g. spot.x86.vcpu=0.0125)",
      );
    const next = book.withChange({ effectiveAt, prices: change, note: values.note });
    file.write(next);
    process.stdout.write(
      `Price book revision ${next.revision}: from ${effectiveAt.toISOString()}, ` +
        Object.entries(change)
          .map(([n, r]) => `${n}=${formatRate(r)}`)
          .join(" ") +
        "\n",
    );
    return 0;
  }
  process.stderr.write(`${PRICES_USAGE}\n`);
  return 2;
}
