/**
 * `berth savings-plans create|list|delete`: Compute Savings Plans of the running Berth, through
 * its billing endpoint; they apply from their start on.
 */
import { SavingsPlans, YEAR_SECONDS, formatRate, planEnd, planState } from "../billing/index.js";
import { invalidArgument } from "./errors.js";
import { berthJson } from "./client.js";
import { defineCommand } from "./command.js";
import { CLIENT_FLAGS, clientConfigFrom } from "./config.js";

function term(text: string): number {
  const match = /^(\d+)(y|d|h)$/.exec(text);
  if (match === null)
    throw invalidArgument(`--term must be like 1y, 3y, 30d or 12h, not '${text}'`);
  const n = Number(match[1]);
  return match[2] === "y" ? n * YEAR_SECONDS : match[2] === "d" ? n * 86_400 : n * 3600;
}

export const savingsPlans = defineCommand({
  name: "savings-plans",
  summary: "create, list or delete Compute Savings Plans",
  usage: [
    "berth savings-plans create --commitment USD_PER_HOUR [--term 1y|3y|Nd|Nh] [--discount-rate F] [--start TIME]",
    "berth savings-plans list",
    "berth savings-plans delete ID",
  ],
  description: [
    "A plan starts at the next hour unless --start (on the hour, not in the past) says otherwise.",
    "Deleting a plan that has started retires it at the next hour; the hours before keep their",
    "bill. All three reach the Berth at --endpoint.",
  ].join("\n"),
  flags: {
    commitment: { type: "string", value: "USD", help: "create: the commitment, USD per hour" },
    term: { type: "string", value: "TERM", default: "1y", help: "create: 1y, 3y, Nd or Nh" },
    "discount-rate": {
      type: "string",
      value: "F",
      help: "create: the discount (default: 0.2 for 1 year, 0.5 for 3; about Fargate's No Upfront rates)",
    },
    start: { type: "string", value: "TIME", help: "create: an ISO 8601 time on the hour" },
    ...CLIENT_FLAGS,
  },
  positionals: true,
  run: async ({ flags: values, positionals: words }, env) => {
    const [sub, ...positionals] = words;
    if (sub !== "create" && sub !== "list" && sub !== "delete")
      throw invalidArgument(
        "the subcommands are create, list and delete: berth savings-plans list",
      );
    const config = clientConfigFrom(values, env);
    const path = "/_berth/billing/savings-plans";
    if (sub === "create") {
      if (values.commitment === undefined)
        throw invalidArgument("--commitment is required: USD per hour, e.g. --commitment 0.05");
      const start = values.start === undefined ? undefined : new Date(values.start);
      if (start !== undefined && Number.isNaN(start.getTime()))
        throw invalidArgument(
          "--start must be an ISO 8601 time on the hour, e.g. 2026-12-01T00:00:00Z",
        );
      const plan = await berthJson<{ savingsPlanArn: string }>(config, path, {
        commitment: values.commitment,
        termSeconds: term(values.term),
        ...(values["discount-rate"] === undefined ? {} : { discountRate: values["discount-rate"] }),
        ...(start === undefined ? {} : { start: start.toISOString() }),
      });
      process.stdout.write(`${plan.savingsPlanArn}\n`);
      return 0;
    }
    if (sub === "list") {
      const plans = SavingsPlans.parse(
        JSON.stringify(await berthJson<unknown>(config, path)),
        config.endpoint,
      ).plans;
      const now = Date.now();
      process.stdout.write(
        "ID                                    STATE    COMMITMENT/H  DISCOUNT  START                 END\n",
      );
      for (const p of plans) {
        process.stdout.write(
          `${p.savingsPlanId.padEnd(36)}  ${planState(p, now).padEnd(7)}  ${formatRate(p.commitment).padStart(12)}  ${formatRate(p.discountRate).padStart(8)}  ${p.start.toISOString().slice(0, 19)}Z  ${new Date(planEnd(p)).toISOString().slice(0, 19)}Z\n`,
        );
      }
      return 0;
    }
    const id = positionals[0];
    if (id === undefined)
      throw invalidArgument("name the plan to delete: berth savings-plans delete ID");
    const { outcome } = await berthJson<{ outcome: string }>(config, `${path}/delete`, { id });
    process.stdout.write(
      outcome === "deleted"
        ? `Deleted queued plan ${id}.\n`
        : `Retired plan ${id} from the next hour.\n`,
    );
    return 0;
  },
});
