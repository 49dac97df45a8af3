/**
 * The errors ELBv2 answers with: the model's Query error codes (`DuplicateLoadBalancerName`,
 * `TargetGroupNotFound`, ...) with AWS's texts where they are recorded; where they are not,
 * ours says what is wrong. Callers branch on the code, never on the text.
 */
import { AwsError } from "../../aws/index.js";

export const validationError = (message: string): AwsError =>
  new AwsError("ValidationError", message);

export const loadBalancerNotFound = (): AwsError =>
  new AwsError("LoadBalancerNotFound", "One or more load balancers not found");

export const targetGroupNotFound = (): AwsError =>
  new AwsError("TargetGroupNotFound", "One or more target groups not found");

export const listenerNotFound = (): AwsError =>
  new AwsError("ListenerNotFound", "One or more listeners not found");

export const ruleNotFound = (): AwsError =>
  new AwsError("RuleNotFound", "One or more rules not found");

export const invalidConfiguration = (message: string): AwsError =>
  new AwsError("InvalidConfigurationRequest", message);

export const tooManyTags = (): AwsError =>
  new AwsError("TooManyTags", "You've reached the limit on the number of tags for this resource");

export const invalidTarget = (message: string): AwsError => new AwsError("InvalidTarget", message);
