/**
 * `berth savings-plans create|list|delete`: Compute Savings Plans in the local data directory.
 * A running Berth applies them from the next report on.
 */
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import {
  HOUR_MS,
  YEAR_SECONDS,
  billingPaths,
  ceilHour,
  formatRate,
  planEnd,
  planState,
  savingsPlansFile,
} from "../billing/index.js";
import { BerthError } from "../core/index.js";
import { defaultDataDir } from "./config.js";

export const SAVINGS_PLANS_USAGE = `Usage: berth savings-plans create --commitment USD_PER_HOUR [--term 1y|3y|Nd|Nh]
                                   [--discount-rate 0.2] [--start TIME] [--account-id ID]
       berth savings-plans list
       berth savings-plans delete ID
  The discount defaults to 0.2 for 1-year terms and 0.5 for 3 years (about Fargate's Compute
  Savings Plan rates, No Upfront). A plan starts at the next hour unless --start says otherwise.
  Deleting a plan that has started retires it at the next hour; the hours before keep their bill.`;

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
      "account-id": { type: "string", default: "000000000000" },
      "data-dir": { type: "string" },
    },
    allowPositionals: true,
    strict: true,
  });
  const file = savingsPlansFile(
    billingPaths(resolve(values["data-dir"] ?? defaultDataDir(env))).savingsPlans,
  );
  const now = new Date();
  if (sub === "create") {
    if (values.commitment === undefined)
      throw new BerthError(
        "InvalidArgument",
        "--commitment is required: USD per hour, e.g. --commitment 0.05",
      );
    const seconds = term(values.term);
    const start =
      values.start === undefined ? new Date(ceilHour(now.getTime())) : new Date(values.start);
    if (Number.isNaN(start.getTime()) || start.getTime() % HOUR_MS !== 0)
      throw new BerthError(
        "InvalidArgument",
        "--start must be an ISO 8601 time on the hour, e.g. 2026-12-01T00:00:00Z",
      );
    if (start.getTime() < now.getTime() - HOUR_MS)
      throw new BerthError(
        "InvalidArgument",
        "--start is in the past; a plan cannot change hours already billed",
      );
    const discountRate = values["discount-rate"] ?? (seconds >= 3 * YEAR_SECONDS ? "0.5" : "0.2");
    const { plans, plan } = file
      .current()
      .create(
        { commitment: values.commitment, discountRate, start, termSeconds: seconds },
        values["account-id"],
        now,
      );
    file.write(plans);
    process.stdout.write(`${plan.savingsPlanArn}\n`);
    return 0;
  }
  if (sub === "list") {
    const plans = file.current().plans;
    process.stdout.write(
      "ID                                    STATE    COMMITMENT/H  DISCOUNT  START                 END\n",
    );
    for (const p of plans) {
      process.stdout.write(
        `${p.savingsPlanId.padEnd(36)}  ${planState(p, now.getTime()).padEnd(7)}  ${formatRate(p.commitment).padStart(12)}  ${formatRate(p.discountRate).padStart(8)}  ${p.start.toISOString().slice(0, 19)}Z  ${new Date(planEnd(p)).toISOString().slice(0, 19)}Z\n`,
      );
    }
    return 0;
  }
  if (sub === "delete") {
    const id = positionals[0];
    if (id === undefined)
      throw new BerthError(
        "InvalidArgument",
        "name the plan to delete: berth savings-plans delete ID",
      );
    const { plans, outcome } = file.current().delete(id, now);
    file.write(plans);
    process.stdout.write(
      outcome === "deleted"
        ? `Deleted queued plan ${id}.\n`
        : `Retired plan ${id} from the next hour.\n`,
    );
    return 0;
  }
  process.stderr.write(`${SAVINGS_PLANS_USAGE}\n`);
  return 2;
}
