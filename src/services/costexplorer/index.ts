/**
 * AWS Cost Explorer (`AWSInsightsIndexService`): the subset that reports Berth's bill.
 * Adding an action is adding its handler to the table; the front door validates its input
 * against the model.
 */
import type { CostExplorer } from "@aws-sdk/client-cost-explorer";
import { actionTable, loadServiceModel, type AwsJsonService } from "../../aws/index.js";
import type { Billing } from "../../billing/index.js";
import { costAndUsageHandler } from "./cost-and-usage.js";
import { savingsPlansUtilizationHandler } from "./savings-plans-utilization.js";
import { tagsHandler } from "./tags.js";

export { TAG_CLUSTER, TAG_SERVICE, TAG_FAMILY } from "./lines.js";

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
    actions: actionTable<CostExplorer>({
      getCostAndUsage: costAndUsageHandler(billing),
      getTags: tagsHandler(billing),
      getSavingsPlansUtilization: savingsPlansUtilizationHandler(billing),
    }),
  };
}
export { summarize } from "./cost-and-usage.js";
export { periods } from "./periods.js";
