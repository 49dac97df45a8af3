/**
 * `berth savings-plans create|list|delete`: Compute Savings Plans of the running Berth, through
 * its billing endpoint; they apply from their start on.
 */
import { parseArgs } from "node:util";
import { SavingsPlans, YEAR_SECONDS, formatRate, planEnd, planState } from "../billing/index.js";
import { BerthError } from "../core/index.js";
import { berthJson } from "./client.js";
import { resolveClientConfig } from "./config.js";

export const SAVINGS_PLANS_USAGE = `Usage: berth savings-plans create --commitment USD_PER_HOUR [--term 1y|3y|Nd|Nh]
                                   [--discount-rate 0.2] [--start TIME]
       berth savings-plans list
       berth savings-plans delete ID
  The discount defaults to 0.2 for 1-year terms and 0.5 for 3 years (about Fargate's Compute
  Savings Plan rates, No Upfront). A plan starts at the next hour unless --start (on the hour,
  not in the past) says otherwise. Deleting a plan that has started retires it at the next
  hour; the hours before keep their bill. All three reach the Berth at --endpoint.`;

function term(text: string): number {
  const match = /^(\d+)(y|d|h)$/.exec(text);
  if (match === null)
    throw new BerthError(
      "InvalidArgument",
      `--term must be like 1y, 3y, 30d or 12h, not '${text}'`,
    );
  const n = Number(match[1]);
  return match[2] === "y" ? n * YEAR_SECONDS : match[2] === "d" ? n * 86_400 : n * 3600;
}

export async function savingsPlans(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const [sub, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    options: {
      commitment: { type: "string" },
      term: { type: "string", default: "1y" },
      "discount-rate": { type: "string" },
      start: { type: "string" },
      endpoint: { type: "string" },
      "data-dir": { type: "string" },
      region: { type: "string" },
    },
    allowPositionals: true,
    strict: true,
  });
  if (sub !== "create" && sub !== "list" && sub !== "delete") {
    process.stderr.write(`${SAVINGS_PLANS_USAGE}\n`);
    return 2;
  }
  const config = resolveClientConfig(
    { endpoint: values.endpoint, dataDir: values["data-dir"], region: values.region },
    env,
  );
  const path = "/_berth/billing/savings-plans";
  if (sub === "create") {
    if (values.commitment === undefined)
      throw new BerthError(
        "InvalidArgument",
        "--commitment is required: USD per hour, e.g. --commitment 0.05",
      );
    const start = values.start === undefined ? undefined : new Date(values.start);
    if (start !== undefined && Number.isNaN(start.getTime()))
      throw new BerthError(
        "InvalidArgument",
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
    throw new BerthError(
      "InvalidArgument",
      "name the plan to delete: berth savings-plans delete ID",
    );
  const { outcome } = await berthJson<{ outcome: string }>(config, `${path}/delete`, { id });
  process.stdout.write(
    outcome === "deleted"
      ? `Deleted queued plan ${id}.\n`
      : `Retired plan ${id} from the next hour.\n`,
  );
  return 0;
}
