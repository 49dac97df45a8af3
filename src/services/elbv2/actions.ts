/**
 * The actions of listeners and rules: `forward` (to one target group or weighted ones) and
 * `fixed-response`, checked as ELB checks them, with each target group bound to one load
 * balancer at most.
 */
import type { Action } from "@aws-sdk/client-elastic-load-balancing-v2";
import { AwsError } from "../../aws/index.js";
import type { Store } from "../../store/index.js";
import { targetGroupNotFound, validationError } from "./errors.js";
import { forwardedGroups, loadBalancersByTargetGroup } from "./resources.js";

/** What a fixed-response action may answer as (ELB's list). */
const FIXED_RESPONSE_TYPES = [
  "text/plain",
  "text/css",
  "text/html",
  "application/javascript",
  "application/json",
];

/** Checks `actions` for a listener or rule of `loadBalancerArn`; returns them as stored. */
export async function checkActions(
  store: Store,
  actions: Action[],
  loadBalancerArn: string,
): Promise<Action[]> {
  if (actions.length === 0) throw validationError("At least one action must be specified");
  if (actions.length > 1)
    throw new AwsError("TooManyActions", "Berth rules take one action: forward or fixed-response");
  const stored: Action[] = [];
  for (const action of actions) {
    if (action.Type === "forward") {
      const single = action.TargetGroupArn;
      const weighted = action.ForwardConfig?.TargetGroups ?? [];
      if (single === undefined && weighted.length === 0)
        throw validationError("A target group ARN must be specified for a forward action");
      if (single !== undefined && weighted.length > 1)
        throw validationError(
          "You cannot specify both a target group ARN and multiple target groups in a forward action",
        );
      if (weighted.length > 5)
        throw new AwsError(
          "TooManyTargetGroups",
          "A forward action can have at most '5' target groups",
        );
      stored.push({
        Type: "forward",
        ...(single === undefined && weighted.length === 1
          ? { TargetGroupArn: weighted[0]?.TargetGroupArn }
          : single === undefined
            ? {}
            : { TargetGroupArn: single }),
        ForwardConfig: {
          TargetGroups:
            weighted.length > 0
              ? weighted.map((g) => ({ TargetGroupArn: g.TargetGroupArn, Weight: g.Weight ?? 1 }))
              : [{ TargetGroupArn: single, Weight: 1 }],
          TargetGroupStickinessConfig: { Enabled: false },
        },
      });
    } else if (action.Type === "fixed-response") {
      const config = action.FixedResponseConfig;
      if (config?.StatusCode === undefined || !/^[245]\d\d$/.test(config.StatusCode))
        throw validationError("A fixed-response action needs a status code of 2XX, 4XX or 5XX");
      // ELB's allowed content types; the text is not recorded, the code is ELB's ValidationError.
      if (config.ContentType !== undefined && !FIXED_RESPONSE_TYPES.includes(config.ContentType))
        throw validationError(
          `Content type '${config.ContentType}' is not one of ${FIXED_RESPONSE_TYPES.join(", ")}`,
        );
      stored.push({ Type: "fixed-response", FixedResponseConfig: config });
    } else {
      // ELB also redirects and authenticates (the latter on HTTPS listeners only).
      throw new AwsError(
        "InvalidLoadBalancerAction",
        `Berth supports forward and fixed-response actions, not '${action.Type ?? ""}'`,
      );
    }
  }
  const groups = forwardedGroups(stored);
  if (groups.length > 0) {
    const found = await store
      .selectFrom("elb_target_groups")
      .select("arn")
      .where("arn", "in", groups)
      .execute();
    if (found.length < groups.length) throw targetGroupNotFound();
    const byGroup = await loadBalancersByTargetGroup(store);
    const elsewhere = groups.filter((g) =>
      (byGroup.get(g) ?? []).some((lb) => lb !== loadBalancerArn),
    );
    if (elsewhere.length > 0)
      throw new AwsError(
        "TargetGroupAssociationLimit",
        `The following target groups cannot be associated with more than one load balancer: ${elsewhere.join(", ")}`,
      );
  }
  return stored;
}
