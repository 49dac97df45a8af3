/**
 * `berth prices list|set`: the price book of the running Berth, through its billing endpoint. A
 * change takes effect from its effective time (default: now) and never before, so bills already
 * run stay as they were.
 */
import { PRICE_DESCRIPTIONS, PRICE_NAMES, PriceBook, formatRate } from "../billing/index.js";
import { invalidArgument } from "./errors.js";
import { berthJson } from "./client.js";
import { defineCommand } from "./command.js";
import { CLIENT_FLAGS, clientConfigFrom } from "./config.js";

function time(text: string | undefined, flag: string): Date | undefined {
  if (text === undefined || text === "now") return undefined;
  const date = new Date(text);
  if (Number.isNaN(date.getTime()))
    throw invalidArgument(`${flag} must be an ISO 8601 time or "now", not '${text}'`);
  return date;
}

export const prices = defineCommand({
  name: "prices",
  summary: "list or change the price book (Fargate and Spot prices)",
  usage: [
    "berth prices list [--at TIME] [--history]",
    "berth prices set NAME=USD ... [--effective TIME] [--note TEXT]",
    "berth prices set --spot-discount 0.65 [--effective TIME]",
  ],
  description: [
    `Prices are USD per hour: ${PRICE_NAMES.join(", ")}.`,
    'TIME is ISO 8601 (2026-12-01T00:00:00Z) or "now"; a change cannot take effect in the past.',
    "Both reach the Berth at --endpoint.",
  ].join("\n"),
  flags: {
    at: { type: "string", value: "TIME", help: "list: the prices in effect then (default: now)" },
    history: { type: "boolean", help: "list: every change too" },
    effective: {
      type: "string",
      value: "TIME",
      help: "set: when the change takes effect (default: now)",
    },
    note: { type: "string", value: "TEXT", help: "set: a note kept with the change" },
    "spot-discount": {
      type: "string",
      value: "F",
      help: "set: every Spot price this fraction below on-demand (0.7 for 70% off)",
    },
    ...CLIENT_FLAGS,
  },
  positionals: true,
  run: async ({ flags: values, positionals: words }, env) => {
    const [sub, ...positionals] = words;
    if (sub !== "list" && sub !== "set")
      throw invalidArgument("the subcommands are list and set: berth prices list");
    const config = clientConfigFrom(values, env);
    if (sub === "list") {
      const book = PriceBook.parse(
        JSON.stringify(await berthJson<unknown>(config, "/_berth/billing/prices")),
        config.endpoint,
      );
      const at = time(values.at, "--at") ?? new Date();
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
      return 0;
    }
    const change: Record<string, string> = {};
    for (const pair of positionals) {
      const [name, value] = pair.split("=", 2);
      if (name === undefined || value === undefined)
        throw invalidArgument(
          `'${pair}' is not NAME=USD with NAME one of ${PRICE_NAMES.join(", ")}`,
        );
      change[name] = value;
    }
    const effectiveAt = time(values.effective, "--effective");
    const done = await berthJson<{
      revision: number;
      effectiveAt: string;
      prices: Record<string, string>;
    }>(config, "/_berth/billing/prices", {
      prices: change,
      ...(values["spot-discount"] === undefined ? {} : { spotDiscount: values["spot-discount"] }),
      ...(effectiveAt === undefined ? {} : { effectiveAt: effectiveAt.toISOString() }),
      ...(values.note === undefined ? {} : { note: values.note }),
    });
    process.stdout.write(
      `Price book revision ${done.revision}: from ${done.effectiveAt}, ` +
        Object.entries(done.prices)
          .map(([n, r]) => `${n}=${r}`)
          .join(" ") +
        "\n",
    );
    return 0;
  },
});
