/**
 * AWS Cost Explorer (`AWSInsightsIndexService`): the subset that reports Berth's bill.
 * Adding an action is adding a row; the front door validates its input against the model.
 */
import type { CostExplorer } from "@aws-sdk/client-cost-explorer";
import { type ActionTable, loadServiceModel, type AwsJsonService } from "../../aws/index.js";
import type { Billing } from "../../billing/index.js";
import { costAndUsageHandler } from "./cost-and-usage.js";
import { savingsPlansUtilizationHandler } from "./savings-plans-utilization.js";
import { tagsHandler } from "./tags.js";

export { TAG_CLUSTER, TAG_SERVICE, TAG_FAMILY, COST_DIMENSIONS } from "./lines.js";

export interface CostExplorerDependencies {
  billing: Billing;
}

export function createCostExplorerService({ billing }: CostExplorerDependencies): AwsJsonService {
  return {
    targetPrefix: "AWSInsightsIndexService",
    signingName: "ce",
    model: loadServiceModel("ce"),
    // The model lists no validation shape, but Cost Explorer answers bad input with
    // ValidationException (e.g. "Start date (and hour) should be before end date (and hour)").
    validationErrorCode: "ValidationException",
    actions: {
      GetCostAndUsage: costAndUsageHandler(billing),
      GetTags: tagsHandler(billing),
      GetSavingsPlansUtilization: savingsPlansUtilizationHandler(billing),
    } satisfies ActionTable<CostExplorer>,
  };
}
export { summarize, type Sum, type GroupSum } from "./cost-and-usage.js";
export { periods, parseInterval, type Period } from "./periods.js";
