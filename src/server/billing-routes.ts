/**
 * Berth's own billing endpoints, SigV4-signed like any API call (service `ecs`): the price book
 * and Compute Savings Plans are kept by the running Berth, and `berth prices` and
 * `berth savings-plans` change them through here, so a change reaches the Berth that bills.
 *
 * `GET  /_berth/billing/prices`                the price book (its file format, with history)
 * `POST /_berth/billing/prices`                `{prices?, spotDiscount?, effectiveAt?, note?}`
 * `GET  /_berth/billing/savings-plans`         every plan (the savings plans file's format)
 * `POST /_berth/billing/savings-plans`         `{commitment, termSeconds, discountRate?, start?}`
 * `POST /_berth/billing/savings-plans/delete`  `{id}` (a plan id or ARN)
 *
 * Deviation: AWS sets prices itself and sells plans through the Savings Plans API
 * (CreateSavingsPlan needs an offering id); Berth's operator is the price setter, so these are
 * Berth's own routes.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { AwsError } from "../aws/index.js";
import { formatRate, type Billing } from "../billing/index.js";
import type { SignedRouteOptions } from "./route-access.js";
import { answerJson, authenticate, fail, readSignedJson } from "./task-routes.js";

export const BILLING_PRICES_PATH = "/_berth/billing/prices";
export const BILLING_PLANS_PATH = "/_berth/billing/savings-plans";
export const BILLING_PLANS_DELETE_PATH = "/_berth/billing/savings-plans/delete";

export interface BillingRouteOptions extends SignedRouteOptions {
  billing: Billing;
}

const invalid = (message: string) => new AwsError("InvalidParameterException", message);

function optionalString(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string") throw invalid(`${name} must be a string.`);
  return value;
}

function optionalTime(value: unknown, name: string): Date | undefined {
  const text = optionalString(value, name);
  if (text === undefined) return undefined;
  const time = new Date(text);
  if (Number.isNaN(time.getTime())) throw invalid(`${name} must be an ISO 8601 time.`);
  return time;
}

/** Serves a billing route; false when `path` and method are not one. */
export async function serveBillingRoute(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  options: BillingRouteOptions,
): Promise<boolean> {
  const { billing } = options;
  if (req.method === "GET" && (path === BILLING_PRICES_PATH || path === BILLING_PLANS_PATH)) {
    if (!(await authenticate(req, res, options, { action: "berth:GetBillingConfiguration" })))
      return true;
    answerJson(
      res,
      path === BILLING_PRICES_PATH ? billing.priceBook().toJSON() : billing.savingsPlans().toJSON(),
    );
    return true;
  }
  if (
    req.method !== "POST" ||
    ![BILLING_PRICES_PATH, BILLING_PLANS_PATH, BILLING_PLANS_DELETE_PATH].includes(path)
  )
    return false;
  const body = await readSignedJson<Record<string, unknown>>(req, res, options, {
    action: "berth:UpdateBillingConfiguration",
  });
  if (body === undefined) return true;
  try {
    if (path === BILLING_PRICES_PATH) {
      const prices = body.prices;
      if (prices !== undefined && (prices === null || typeof prices !== "object"))
        throw invalid("prices must be an object of price names and USD values.");
      const spotDiscount = optionalString(body.spotDiscount, "spotDiscount");
      const effectiveAt = optionalTime(body.effectiveAt, "effectiveAt");
      const note = optionalString(body.note, "note");
      const { book, change } = billing.changePrices({
        ...(prices === undefined ? {} : { prices: prices as Record<string, unknown> }),
        ...(spotDiscount === undefined ? {} : { spotDiscount }),
        ...(effectiveAt === undefined ? {} : { effectiveAt }),
        ...(note === undefined ? {} : { note }),
      });
      answerJson(res, {
        revision: book.revision,
        effectiveAt: change.effectiveAt.toISOString(),
        prices: Object.fromEntries(
          Object.entries(change.prices).map(([name, rate]) => [name, formatRate(rate)]),
        ),
      });
    } else if (path === BILLING_PLANS_PATH) {
      const commitment = optionalString(body.commitment, "commitment");
      if (commitment === undefined) throw invalid("commitment (USD per hour) is required.");
      const termSeconds = body.termSeconds;
      if (typeof termSeconds !== "number") throw invalid("termSeconds must be a number.");
      const discountRate = optionalString(body.discountRate, "discountRate");
      const start = optionalTime(body.start, "start");
      const plan = billing.createSavingsPlan({
        commitment,
        termSeconds,
        ...(discountRate === undefined ? {} : { discountRate }),
        ...(start === undefined ? {} : { start }),
      });
      const plans = billing.savingsPlans().toJSON() as { plans: Array<{ savingsPlanId: string }> };
      answerJson(
        res,
        plans.plans.find((p) => p.savingsPlanId === plan.savingsPlanId),
      );
    } else {
      const id = optionalString(body.id, "id");
      if (id === undefined) throw invalid("id (a savings plan id or ARN) is required.");
      answerJson(res, { outcome: billing.deleteSavingsPlan(id) });
    }
  } catch (error) {
    fail(res, error);
  }
  return true;
}
