/**
 * IAM and STS (AWS Query protocol; signing names `iam` and `sts`, both global): users, access
 * keys, roles and their trust, inline and managed policies; caller identity and role
 * sessions. Also what the front doors need from identity: the credential lookup (root, users,
 * sessions) and the `Authorizer` that evaluates a caller's policies. STS lives here with IAM:
 * it assumes IAM's roles and is judged by IAM's policies.
 */
import type { IAM } from "@aws-sdk/client-iam";
import type { STS } from "@aws-sdk/client-sts";
import {
  actionTable,
  loadServiceModel,
  resources,
  type AwsQueryService,
  type RequestContext,
  type RequestedResource,
} from "../../aws/index.js";
import type { Store } from "../../store/index.js";
import { inlinePolicyHandlers } from "./inline-policies.js";
import { managedPolicyHandlers } from "./managed-policies.js";
import { iamArn } from "./names.js";
import { roleHandlers } from "./roles.js";
import { stsHandlers } from "./sts.js";
import { userHandlers } from "./users.js";

export { IamAuthorizer, keyAuthorizer } from "./authorizer.js";
export { iamCredentialLookup, sessionPrincipal } from "./identities.js";
export {
  roleCredentials,
  roleSessionPrincipal,
  ecsRoleGate,
  SCHEDULER_SERVICE,
} from "./role-credentials.js";
export { parsePolicy } from "./policy-document.js";
export { evaluatePolicies, trustAllows, wildcardMatch } from "./evaluate.js";

/** IAM ARNs a request names: the user (the caller when it names none), role or policy. */
const user = resources<{ UserName?: string }>((input, ctx: RequestContext): RequestedResource[] => [
  {
    arn:
      input.UserName === undefined
        ? ctx.principal.arn
        : iamArn(ctx.identity, `user/${input.UserName}`),
  },
]);
const role = resources<{ RoleName?: string }>((input, ctx) => [
  { arn: iamArn(ctx.identity, `role/${input.RoleName ?? ""}`) },
]);
const policy = resources<{ PolicyArn?: string }>((input) => [{ arn: input.PolicyArn ?? "*" }]);

export function createIamService({ store }: { store: Store }): AwsQueryService {
  const users = userHandlers(store);
  const roles = roleHandlers(store);
  const inline = inlinePolicyHandlers(store);
  const managed = managedPolicyHandlers(store);
  return {
    signingName: "iam",
    global: true,
    model: loadServiceModel("iam"),
    validationErrorCode: "ValidationError",
    actions: actionTable<IAM>(users, roles, inline, managed),
    resources: {
      CreateUser: user,
      GetUser: user,
      DeleteUser: user,
      CreateAccessKey: user,
      ListAccessKeys: user,
      UpdateAccessKey: user,
      DeleteAccessKey: user,
      PutUserPolicy: user,
      GetUserPolicy: user,
      ListUserPolicies: user,
      DeleteUserPolicy: user,
      AttachUserPolicy: user,
      DetachUserPolicy: user,
      ListAttachedUserPolicies: user,
      CreateRole: role,
      GetRole: role,
      UpdateAssumeRolePolicy: role,
      DeleteRole: role,
      PutRolePolicy: role,
      GetRolePolicy: role,
      ListRolePolicies: role,
      DeleteRolePolicy: role,
      AttachRolePolicy: role,
      DetachRolePolicy: role,
      ListAttachedRolePolicies: role,
      CreatePolicy: resources<{ PolicyName?: string; Path?: string }>((input, ctx) => [
        { arn: iamArn(ctx.identity, `policy${input.Path ?? "/"}${input.PolicyName ?? ""}`) },
      ]),
      GetPolicy: policy,
      GetPolicyVersion: policy,
      DeletePolicy: policy,
    },
  };
}

export function createStsService({ store }: { store: Store }): AwsQueryService {
  const handlers = stsHandlers(store);
  return {
    signingName: "sts",
    global: true,
    model: loadServiceModel("sts"),
    validationErrorCode: "ValidationError",
    actions: actionTable<STS>(handlers),
    resources: {
      AssumeRole: resources<{ RoleArn?: string }>((input) => [{ arn: input.RoleArn ?? "*" }]),
    },
  };
}
