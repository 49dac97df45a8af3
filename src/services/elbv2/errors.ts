/**
 * The errors ELBv2 answers with: the model's Query error codes (`DuplicateLoadBalancerName`,
 * `TargetGroupNotFound`, ...) with AWS's texts where they are recorded; where they are not,
 * ours says what is wrong. Callers branch on the code, never on the text.
 */
import { AwsError } from "../../aws/index.js";

export const validationError = (message: string): AwsError =>
  new AwsError("ValidationError", message);

export const loadBalancerNotFound = (): AwsError => new AwsError("LoadBalancerNotFound");

export const targetGroupNotFound = (): AwsError => new AwsError("TargetGroupNotFound");

export const listenerNotFound = (): AwsError => new AwsError("ListenerNotFound");

export const ruleNotFound = (): AwsError => new AwsError("RuleNotFound");

export const duplicateListener = (loadBalancerArn: string): AwsError =>
  new AwsError(
    "DuplicateListener",
    `A listener already exists on this port for this load balancer '${loadBalancerArn}'`,
  );

export const invalidConfiguration = (message: string): AwsError =>
  new AwsError("InvalidConfigurationRequest", message);

export const tooManyTags = (): AwsError => new AwsError("TooManyTags");

export const invalidTarget = (message: string): AwsError => new AwsError("InvalidTarget", message);
