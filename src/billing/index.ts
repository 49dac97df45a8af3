/**
 * Billing: the meter (usage from task transitions), the price book (with Spot's price history),
 * Compute Savings Plans, and exact rating of usage into cost lines. Money lives here only.
 *
 * For the compute side, the whole interface is `TaskUsage`, `TaskUsageSource` (implement it over
 * the tasks table) and `Billing.recordTaskUsage` (call it when a task reaches STOPPED); see
 * usage.ts. The contract every TaskUsageSource must pass is
 * test/unit/billing/task-usage-source-contract.ts (`runTaskUsageSourceContract`).
 */
export { Billing, billingPaths } from "./billing.js";
export { Meter } from "./meter.js";
export {
  billedSeconds,
  billedUntil,
  type TaskUsage,
  type TaskUsageSource,
  type BilledTask,
} from "./usage.js";
export {
  PriceBook,
  PRICE_NAMES,
  PRICE_DESCRIPTIONS,
  DEFAULT_PRICES,
  priceBookFile,
  type PriceName,
} from "./price-book.js";
export {
  SavingsPlans,
  savingsPlansFile,
  planState,
  planEnd,
  YEAR_SECONDS,
  type SavingsPlan,
} from "./savings-plans.js";
export { rateUsage, type CostLine, type PlanHour } from "./rating.js";
export {
  QUANTITY_SCALE,
  MONEY_SCALE,
  parseRate,
  formatRate,
  formatAmount,
  formatQuantity,
  formatCents,
  parseAmount,
  divideRounded,
  discountedRate,
} from "./money.js";
export * from "./usage-types.js";
export { renderBill, type BillRow } from "./present.js";
