/**
 * `berth bill`: what Berth's compute cost over a period, as a table with a total (or CSV). It
 * asks the running Berth through the Cost Explorer API, like any other client would.
 */
import { invalidArgument } from "./errors.js";
import {
  CostExplorerClient,
  GetCostAndUsageCommand,
  type GroupDefinition,
} from "@aws-sdk/client-cost-explorer";
import { parseAmount, renderBill, type BillRow } from "../billing/index.js";
import { TAG_CLUSTER, TAG_FAMILY, TAG_SERVICE } from "../services/costexplorer/index.js";
import { defineCommand } from "./command.js";
import { CLIENT_FLAGS, clientConfigFrom } from "./config.js";

const COST_METRICS = [
  "UnblendedCost",
  "AmortizedCost",
  "NetUnblendedCost",
  "NetAmortizedCost",
  "BlendedCost",
];

interface Grouping {
  definition: GroupDefinition;
  heading: string;
  /** Label for a line without the tag. */
  none: string;
}

function grouping(by: string): Grouping {
  const tag = (key: string, heading: string, none: string): Grouping => ({
    definition: { Type: "TAG", Key: key },
    heading,
    none,
  });
  switch (by) {
    case "usage-type":
      return {
        definition: { Type: "DIMENSION", Key: "USAGE_TYPE" },
        heading: "USAGE TYPE",
        none: "",
      };
    case "purchase-type":
      return {
        definition: { Type: "DIMENSION", Key: "PURCHASE_TYPE" },
        heading: "PURCHASE TYPE",
        none: "",
      };
    case "service":
      return tag(TAG_SERVICE, "SERVICE", "(not a service)");
    case "cluster":
      return tag(TAG_CLUSTER, "CLUSTER", "(none)");
    case "family":
      return tag(TAG_FAMILY, "TASK FAMILY", "(none)");
    default:
      if (by.startsWith("tag:") && by.length > 4)
        return tag(by.slice(4), by.slice(4).toUpperCase(), "(untagged)");
      throw invalidArgument(
        `--by '${by}' is not one of usage-type, service, cluster, family, purchase-type, tag:KEY`,
      );
  }
}

function day(text: string | undefined, fallback: Date, flag: string): string {
  if (text === undefined) return fallback.toISOString().slice(0, 10);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text) || Number.isNaN(new Date(`${text}T00:00:00Z`).getTime()))
    throw invalidArgument(`${flag} must be a date like 2026-01-31, not '${text}'`);
  return text;
}

export const bill = defineCommand({
  name: "bill",
  summary: "what compute cost over a period, by usage type, service, cluster, family or tag",
  usage: [
    "berth bill [--since YYYY-MM-DD] [--until YYYY-MM-DD] [--by KEY] [--metric NAME] [--csv]",
  ],
  description: "Asks the running Berth's Cost Explorer API, as any client would.",
  flags: {
    since: {
      type: "string",
      value: "YYYY-MM-DD",
      help: "the first day, UTC (default: the first of this month)",
    },
    until: {
      type: "string",
      value: "YYYY-MM-DD",
      help: "the day after the last, UTC; the period ends there (default: tomorrow)",
    },
    by: {
      type: "string",
      value: "KEY",
      default: "usage-type",
      help: "usage-type, service, cluster, family, purchase-type or tag:KEY",
    },
    metric: {
      type: "string",
      value: "NAME",
      default: "UnblendedCost",
      help: "UnblendedCost, AmortizedCost (Savings Plans spread over covered usage), NetUnblendedCost or NetAmortizedCost",
    },
    csv: { type: "boolean", help: "CSV instead of a table" },
    ...CLIENT_FLAGS,
  },
  run: async ({ flags: values }, env) => {
    const now = new Date();
    const since = day(
      values.since,
      new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)),
      "--since",
    );
    const until = day(
      values.until,
      new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1)),
      "--until",
    );
    if (since >= until)
      throw invalidArgument(`--since (${since}) must be before --until (${until})`);
    if (!COST_METRICS.includes(values.metric))
      throw invalidArgument(
        `--metric must be one of ${COST_METRICS.join(", ")}, not '${values.metric}'`,
      );
    const group = grouping(values.by);
    const config = clientConfigFrom(values, env);
    const client = new CostExplorerClient({
      endpoint: config.endpoint,
      region: config.region,
      credentials: config.credentials,
      maxAttempts: 1,
    });
    try {
      const sums = new Map<string, bigint>();
      let estimated = false;
      let nextPageToken: string | undefined;
      do {
        const page = await client.send(
          new GetCostAndUsageCommand({
            TimePeriod: { Start: since, End: until },
            Granularity: "MONTHLY",
            Metrics: [values.metric],
            GroupBy: [group.definition],
            NextPageToken: nextPageToken,
          }),
        );
        for (const result of page.ResultsByTime ?? []) {
          estimated ||= result.Estimated === true;
          for (const g of result.Groups ?? []) {
            const key = g.Keys?.[0] ?? "";
            const value = group.definition.Type === "TAG" ? key.slice(key.indexOf("$") + 1) : key;
            const label = value === "" ? group.none : value;
            const m = g.Metrics?.[values.metric];
            sums.set(label, (sums.get(label) ?? 0n) + parseAmount(m?.Amount ?? "0"));
          }
        }
        nextPageToken = page.NextPageToken;
      } while (nextPageToken !== undefined);
      const rows: BillRow[] = [...sums].map(([label, amount]) => ({ label, amount }));
      const title =
        `Berth bill ${since} to ${until} (UTC, end exclusive): ${values.metric} by ${values.by}` +
        (estimated ? "; estimated, usage is still accruing" : "");
      process.stdout.write(
        renderBill(rows, { format: values.csv ? "csv" : "table", by: group.heading, title }),
      );
      return 0;
    } finally {
      client.destroy();
    }
  },
});
