/** Inline policies of users and roles: Put (create or replace), Get, List, Delete. */
import type { Handlers } from "../../aws/index.js";
import type * as iam from "@aws-sdk/client-iam";
import type { Store } from "../../store/index.js";
import { noSuchEntity } from "./errors.js";
import type { PrincipalKindInStore } from "./identities.js";
import { encodeDocument } from "./names.js";
import { page, type Paging } from "./pages.js";
import { parsePolicy } from "./policy-document.js";
import { requireRole } from "./roles.js";
import { requireUser } from "./users.js";

/** The user or role a policy is put on or attached to (NoSuchEntity when there is none). */
export async function requirePrincipal(store: Store, kind: PrincipalKindInStore, name: string) {
  if (kind === "user") await requireUser(store, name);
  else await requireRole(store, name);
}

/** Put/Get/List/Delete of one principal kind's inline policies, by its own member names. */
function inlineHandlers(store: Store, kind: PrincipalKindInStore) {
  return {
    put: async (
      name: string,
      policyName: string,
      document: string,
    ): Promise<Record<string, never>> => {
      parsePolicy(document, "identity");
      await requirePrincipal(store, kind, name);
      await store
        .insertInto("iam_inline_policies")
        .values({ principal_kind: kind, principal_name: name, policy_name: policyName, document })
        .onConflict((oc) =>
          oc.columns(["principal_kind", "principal_name", "policy_name"]).doUpdateSet({ document }),
        )
        .execute();
      return {};
    },
    get: async (name: string, policyName: string): Promise<string> => {
      await requirePrincipal(store, kind, name);
      const row = await store
        .selectFrom("iam_inline_policies")
        .select("document")
        .where("principal_kind", "=", kind)
        .where("principal_name", "=", name)
        .where("policy_name", "=", policyName)
        .executeTakeFirst();
      if (row === undefined)
        throw noSuchEntity(`The ${kind} policy with name ${policyName} cannot be found.`);
      return encodeDocument(row.document);
    },
    list: async (name: string, paging: Paging) => {
      await requirePrincipal(store, kind, name);
      const rows = await store
        .selectFrom("iam_inline_policies")
        .select("policy_name")
        .where("principal_kind", "=", kind)
        .where("principal_name", "=", name)
        .orderBy("policy_name")
        .execute();
      const { items, ...rest } = page(rows, (row) => row.policy_name, paging);
      return { PolicyNames: items.map((row) => row.policy_name), ...rest };
    },
    delete: async (name: string, policyName: string): Promise<Record<string, never>> => {
      await requirePrincipal(store, kind, name);
      const result = await store
        .deleteFrom("iam_inline_policies")
        .where("principal_kind", "=", kind)
        .where("principal_name", "=", name)
        .where("policy_name", "=", policyName)
        .executeTakeFirst();
      if (Number(result.numDeletedRows) === 0)
        throw noSuchEntity(`The ${kind} policy with name ${policyName} cannot be found.`);
      return {};
    },
  };
}

export function inlinePolicyHandlers(store: Store) {
  const users = inlineHandlers(store, "user");
  const roles = inlineHandlers(store, "role");
  return {
    putUserPolicy: (i) =>
      users.put(i.UserName as string, i.PolicyName as string, i.PolicyDocument as string),
    getUserPolicy: async (i) => {
      const document = await users.get(i.UserName as string, i.PolicyName as string);
      return { UserName: i.UserName, PolicyName: i.PolicyName, PolicyDocument: document };
    },
    listUserPolicies: (i) => users.list(i.UserName as string, i),
    deleteUserPolicy: (i) => users.delete(i.UserName as string, i.PolicyName as string),
    putRolePolicy: (i) =>
      roles.put(i.RoleName as string, i.PolicyName as string, i.PolicyDocument as string),
    getRolePolicy: async (i) => {
      const document = await roles.get(i.RoleName as string, i.PolicyName as string);
      return { RoleName: i.RoleName, PolicyName: i.PolicyName, PolicyDocument: document };
    },
    listRolePolicies: (i) => roles.list(i.RoleName as string, i),
    deleteRolePolicy: (i) => roles.delete(i.RoleName as string, i.PolicyName as string),
  } satisfies Handlers<iam.IAM>;
}
