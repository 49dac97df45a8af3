/**
 * The `Authorizer` the front doors call: the caller's identity policies, evaluated for the
 * action on each resource with the request's condition keys and the resource's tags
 * (`aws:ResourceTag/KEY`). A denial says what IAM says, naming the principal, action and
 * resource, and whether no policy allowed it or one denied it.
 */
import {
  AwsError,
  type Authorizer,
  type CredentialLookup,
  type Principal,
  type RequestedResource,
} from "../../aws/index.js";
import { readTags, type Store } from "../../store/index.js";
import { evaluatePolicies, type Decision } from "./evaluate.js";
import { policiesOf } from "./identities.js";
import type { PolicyDocument } from "./policy-document.js";

/** Actions every principal may perform whatever its policies say (as in AWS). */
const ALWAYS_ALLOWED = new Set(["sts:getcalleridentity"]);

export function accessDenied(
  principal: Principal,
  action: string,
  resource: string,
  decision: Exclude<Decision, "Allow"> | "NoResourcePolicy",
): AwsError {
  const why =
    decision === "ExplicitDeny"
      ? "with an explicit deny in an identity-based policy"
      : decision === "NoResourcePolicy"
        ? `because no resource-based policy allows the ${action} action`
        : `because no identity-based policy allows the ${action} action`;
  return new AwsError(
    "AccessDeniedException",
    `User: ${principal.arn} is not authorized to perform: ${action} on resource: ${resource} ${why}`,
  );
}

function usesResourceTags(policies: readonly PolicyDocument[]): boolean {
  return policies.some((policy) =>
    policy.statements.some((s) => s.conditions.some((c) => c.key.startsWith("aws:resourcetag/"))),
  );
}

export class IamAuthorizer implements Authorizer {
  constructor(private readonly store: Store) {}

  async authorize(
    principal: Principal,
    action: string,
    resources: readonly RequestedResource[],
  ): Promise<void> {
    if (principal.kind === "root" || ALWAYS_ALLOWED.has(action.toLowerCase())) return;
    const policies = await this.policies(principal);
    const withTags = usesResourceTags(policies);
    for (const resource of resources) {
      const context: Record<string, string[]> = {
        "aws:principalarn": [principal.arn],
        "aws:principalaccount": [principal.accountId],
        "aws:userid": [principal.userId],
        ...(principal.kind === "user" && principal.name !== undefined
          ? { "aws:username": [principal.name] }
          : {}),
        ...(withTags && resource.arn !== "*" ? await this.tagContext(resource.arn) : {}),
        ...resource.context,
      };
      const decision = evaluatePolicies(policies, { action, resource: resource.arn, context });
      if (decision !== "Allow") throw accessDenied(principal, action, resource.arn, decision);
    }
  }

  async policies(principal: Principal): Promise<PolicyDocument[]> {
    if (principal.name === undefined) return [];
    return policiesOf(this.store, principal.kind === "user" ? "user" : "role", principal.name);
  }

  /** `aws:resourcetag/KEY` for each tag the store keeps on the resource. */
  async tagContext(arn: string): Promise<Record<string, string[]>> {
    return Object.fromEntries(
      (await readTags(this.store, arn)).map((row) => [
        `aws:resourcetag/${row.key.toLowerCase()}`,
        [row.value],
      ]),
    );
  }
}

/**
 * Whether an access key may perform `action` on `resource`, as the front doors decide it: the
 * key's principal's policies (an unknown key: no; the account's root: yes). For what Berth
 * serves outside the AWS front doors to a signed-in key (the console's own reads).
 */
export function keyAuthorizer(lookup: CredentialLookup, authorizer: Authorizer) {
  return async (
    accessKeyId: string,
    action: string,
    resource: string,
    context: Record<string, string[]> = {},
  ): Promise<boolean> => {
    const credentials = await lookup(accessKeyId);
    if (credentials === undefined) return false;
    if (credentials.principal === undefined) return true;
    try {
      await authorizer.authorize(credentials.principal, action, [{ arn: resource, context }]);
      return true;
    } catch (error) {
      if (error instanceof AwsError && error.code === "AccessDeniedException") return false;
      throw error;
    }
  };
}
