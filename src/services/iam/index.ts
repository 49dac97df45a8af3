/**
 * IAM and STS (AWS Query protocol; signing names `iam` and `sts`, both global): users, access
 * keys, roles and their trust, inline and managed policies; caller identity and role
 * sessions. Also what the front doors need from identity: the credential lookup (root, users,
 * sessions) and the `Authorizer` that evaluates a caller's policies. STS lives here with IAM:
 * it assumes IAM's roles and is judged by IAM's policies.
 */
import type * as iam from "@aws-sdk/client-iam";
import type * as sts from "@aws-sdk/client-sts";
import {
  action,
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

export { IamAuthorizer, accessDenied } from "./authorizer.js";
export { iamCredentialLookup, sessionPrincipal } from "./identities.js";
export { assumeRoleSession, type RoleSession } from "./sts.js";
export {
  roleCredentials,
  roleSessionPrincipal,
  ecsRoleGate,
  ECS_TASKS_SERVICE,
  SCHEDULER_SERVICE,
  TASK_ROLE_SESSION_SECONDS,
  type CredentialsForRole,
} from "./role-credentials.js";
export { parsePolicy, type PolicyDocument } from "./policy-document.js";
export { evaluatePolicies, trustAllows, wildcardMatch, type Decision } from "./evaluate.js";

type Empty = Record<string, never>;

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
    actions: {
      CreateUser: action<iam.CreateUserRequest, iam.CreateUserResponse>(users.createUser),
      GetUser: action<iam.GetUserRequest, iam.GetUserResponse>(users.getUser),
      ListUsers: action<iam.ListUsersRequest, iam.ListUsersResponse>(users.listUsers),
      DeleteUser: action<iam.DeleteUserRequest, Empty>(users.deleteUser),
      CreateAccessKey: action<iam.CreateAccessKeyRequest, iam.CreateAccessKeyResponse>(
        users.createAccessKey,
      ),
      ListAccessKeys: action<iam.ListAccessKeysRequest, iam.ListAccessKeysResponse>(
        users.listAccessKeys,
      ),
      UpdateAccessKey: action<iam.UpdateAccessKeyRequest, Empty>(users.updateAccessKey),
      DeleteAccessKey: action<iam.DeleteAccessKeyRequest, Empty>(users.deleteAccessKey),
      CreateRole: action<iam.CreateRoleRequest, iam.CreateRoleResponse>(roles.createRole),
      GetRole: action<iam.GetRoleRequest, iam.GetRoleResponse>(roles.getRole),
      ListRoles: action<iam.ListRolesRequest, iam.ListRolesResponse>(roles.listRoles),
      UpdateAssumeRolePolicy: action<iam.UpdateAssumeRolePolicyRequest, Empty>(
        roles.updateAssumeRolePolicy,
      ),
      DeleteRole: action<iam.DeleteRoleRequest, Empty>(roles.deleteRole),
      PutUserPolicy: action<iam.PutUserPolicyRequest, Empty>(inline.putUserPolicy),
      GetUserPolicy: action<iam.GetUserPolicyRequest, iam.GetUserPolicyResponse>(
        inline.getUserPolicy,
      ),
      ListUserPolicies: action<iam.ListUserPoliciesRequest, iam.ListUserPoliciesResponse>(
        inline.listUserPolicies,
      ),
      DeleteUserPolicy: action<iam.DeleteUserPolicyRequest, Empty>(inline.deleteUserPolicy),
      PutRolePolicy: action<iam.PutRolePolicyRequest, Empty>(inline.putRolePolicy),
      GetRolePolicy: action<iam.GetRolePolicyRequest, iam.GetRolePolicyResponse>(
        inline.getRolePolicy,
      ),
      ListRolePolicies: action<iam.ListRolePoliciesRequest, iam.ListRolePoliciesResponse>(
        inline.listRolePolicies,
      ),
      DeleteRolePolicy: action<iam.DeleteRolePolicyRequest, Empty>(inline.deleteRolePolicy),
      CreatePolicy: action<iam.CreatePolicyRequest, iam.CreatePolicyResponse>(managed.createPolicy),
      GetPolicy: action<iam.GetPolicyRequest, iam.GetPolicyResponse>(managed.getPolicy),
      GetPolicyVersion: action<iam.GetPolicyVersionRequest, iam.GetPolicyVersionResponse>(
        managed.getPolicyVersion,
      ),
      ListPolicies: action<iam.ListPoliciesRequest, iam.ListPoliciesResponse>(managed.listPolicies),
      DeletePolicy: action<iam.DeletePolicyRequest, Empty>(managed.deletePolicy),
      AttachUserPolicy: action<iam.AttachUserPolicyRequest, Empty>(managed.attachUserPolicy),
      DetachUserPolicy: action<iam.DetachUserPolicyRequest, Empty>(managed.detachUserPolicy),
      ListAttachedUserPolicies: action<
        iam.ListAttachedUserPoliciesRequest,
        iam.ListAttachedUserPoliciesResponse
      >(managed.listAttachedUserPolicies),
      AttachRolePolicy: action<iam.AttachRolePolicyRequest, Empty>(managed.attachRolePolicy),
      DetachRolePolicy: action<iam.DetachRolePolicyRequest, Empty>(managed.detachRolePolicy),
      ListAttachedRolePolicies: action<
        iam.ListAttachedRolePoliciesRequest,
        iam.ListAttachedRolePoliciesResponse
      >(managed.listAttachedRolePolicies),
    },
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
    actions: {
      GetCallerIdentity: action<sts.GetCallerIdentityRequest, sts.GetCallerIdentityResponse>(
        handlers.getCallerIdentity,
      ),
      AssumeRole: action<sts.AssumeRoleRequest, sts.AssumeRoleResponse>(handlers.assumeRole),
    },
    resources: {
      AssumeRole: resources<{ RoleArn?: string }>((input) => [{ arn: input.RoleArn ?? "*" }]),
    },
  };
}
