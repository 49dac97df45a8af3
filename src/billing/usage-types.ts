/**
 * AWS's names for what a Fargate task consumes, as they appear in Cost Explorer's USAGE_TYPE,
 * PURCHASE_TYPE, RECORD_TYPE and SERVICE dimensions: `USE1-Fargate-vCPU-Hours:perCPU`,
 * `USE1-SpotUsage-Fargate-ARM-GB-Hours`, `USE1-Fargate-EphemeralStorage-GB-Hours`, ...
 */
import type { CapacityProviderName, CpuArchitecture } from "./usage.js";

/** The billing-code prefix AWS puts on usage types, by region. */
const REGION_PREFIX: Record<string, string> = {
  "us-east-1": "USE1",
  "us-east-2": "USE2",
  "us-west-1": "USW1",
  "us-west-2": "USW2",
  "ca-central-1": "CAN1",
  "ca-west-1": "CAW1",
  "sa-east-1": "SAE1",
  "eu-west-1": "EU",
  "eu-west-2": "EUW2",
  "eu-west-3": "EUW3",
  "eu-central-1": "EUC1",
  "eu-central-2": "EUC2",
  "eu-north-1": "EUN1",
  "eu-south-1": "EUS1",
  "eu-south-2": "EUS2",
  "ap-northeast-1": "APN1",
  "ap-northeast-2": "APN2",
  "ap-northeast-3": "APN3",
  "ap-southeast-1": "APS1",
  "ap-southeast-2": "APS2",
  "ap-southeast-3": "APS4",
  "ap-southeast-4": "APS6",
  "ap-south-1": "APS3",
  "ap-south-2": "APS5",
  "ap-east-1": "APE1",
  "me-south-1": "MES1",
  "me-central-1": "MEC1",
  "il-central-1": "ILC1",
  "af-south-1": "AFS1",
  "us-gov-west-1": "UGW1",
  "us-gov-east-1": "UGE1",
};

/** A region Berth does not know gets its own name upper-cased as the prefix. */
export function regionPrefix(region: string): string {
  return REGION_PREFIX[region] ?? region.toUpperCase();
}

export type ResourceKind = "vcpu" | "memory" | "storage";

export function usageType(
  region: string,
  kind: ResourceKind,
  architecture: CpuArchitecture,
  capacityProvider: CapacityProviderName,
): string {
  const prefix = regionPrefix(region);
  // Ephemeral storage has one usage type: AWS prices it the same for ARM and Spot.
  if (kind === "storage") return `${prefix}-Fargate-EphemeralStorage-GB-Hours`;
  const spot = capacityProvider === "FARGATE_SPOT" ? "SpotUsage-" : "";
  const arm = architecture === "ARM64" ? "ARM-" : "";
  return kind === "vcpu"
    ? `${prefix}-${spot}Fargate-${arm}vCPU-Hours:perCPU`
    : `${prefix}-${spot}Fargate-${arm}GB-Hours`;
}

/** Cost Explorer's unit for each usage type's UsageQuantity. */
export function usageUnit(kind: ResourceKind): string {
  return kind === "storage" ? "GB-Hours" : "Hrs";
}

export const SERVICE_ECS = "Amazon Elastic Container Service";
export const SERVICE_SAVINGS_PLANS = "Savings Plans for AWS Compute usage";

export const PURCHASE_ON_DEMAND = "On Demand Instances";
export const PURCHASE_SPOT = "Spot Instances";
export const PURCHASE_SAVINGS_PLANS = "Savings Plans";

export const RECORD_USAGE = "Usage";
export const RECORD_SP_COVERED = "SavingsPlanCoveredUsage";
export const RECORD_SP_FEE = "SavingsPlanRecurringFee";

/** Cost Explorer's usage type for a Compute Savings Plan's hourly fee, e.g. ComputeSP:1yrNoUpfront. */
export function savingsPlanFeeUsageType(termSeconds: number): string {
  const years = Math.round(termSeconds / (365 * 86_400));
  return `ComputeSP:${years >= 3 ? 3 : 1}yrNoUpfront`;
}
