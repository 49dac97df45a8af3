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
export { Meter, type RecordOutcome } from "./meter.js";
export {
  billedSeconds,
  billedUntil,
  FREE_EPHEMERAL_STORAGE_GIB,
  MINIMUM_BILLED_SECONDS,
  type TaskUsage,
  type TaskUsageSource,
  type BilledTask,
  type CpuArchitecture,
  type CapacityProviderName,
} from "./usage.js";
export {
  PriceBook,
  PRICE_NAMES,
  PRICE_DESCRIPTIONS,
  DEFAULT_PRICES,
  priceBookFile,
  priceChange,
  type PriceChangeRequest,
  type PriceName,
  type Prices,
  type PriceChange,
} from "./price-book.js";
export {
  SavingsPlans,
  savingsPlansFile,
  planState,
  planEnd,
  ceilHour,
  HOUR_MS,
  YEAR_SECONDS,
  type SavingsPlan,
} from "./savings-plans.js";
export { rateUsage, floorHour, type CostLine, type PlanHour } from "./rating.js";
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
