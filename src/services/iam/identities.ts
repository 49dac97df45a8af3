/**
 * Whose key signed a request, and which policies speak for it: the account's root key (from
 * the data dir or the environment), IAM users' access keys, and STS role sessions, all read
 * from the store at each request so a deleted key or detached policy counts at once.
 */
import type { CredentialLookup, Credentials, Principal } from "../../aws/index.js";
import type { Identity } from "../../core/index.js";
import type { Store } from "../../store/index.js";
import { awsManagedPolicy } from "./aws-managed.js";
import { parsePolicy, type PolicyDocument } from "./policy-document.js";
import { assumedRoleArn } from "./names.js";

export type PrincipalKindInStore = "user" | "role";

/** The lookup every front door uses: root first (no store read), then users, then sessions. */
export function iamCredentialLookup(
  store: Store,
  identity: Identity,
  root: Credentials,
): CredentialLookup {
  return async (accessKeyId) => {
    if (accessKeyId === root.accessKeyId) return root;
    if (accessKeyId.startsWith("ASIA")) return sessionCredentials(store, identity, accessKeyId);
    const key = await store
      .selectFrom("iam_access_keys")
      .innerJoin("iam_users", "iam_users.name", "iam_access_keys.user_name")
      .select(["iam_access_keys.secret", "iam_users.name", "iam_users.arn", "iam_users.id"])
      .where("iam_access_keys.access_key_id", "=", accessKeyId)
      .where("iam_access_keys.status", "=", "Active")
      .executeTakeFirst();
    if (key === undefined) return undefined;
    return {
      accessKeyId,
      secretAccessKey: key.secret,
      principal: {
        kind: "user",
        arn: key.arn,
        accountId: identity.accountId,
        userId: key.id,
        name: key.name,
      },
    };
  };
}

async function sessionCredentials(
  store: Store,
  identity: Identity,
  accessKeyId: string,
): Promise<Credentials | undefined> {
  const row = await store
    .selectFrom("sts_sessions")
    .innerJoin("iam_roles", "iam_roles.name", "sts_sessions.role_name")
    .select([
      "sts_sessions.secret",
      "sts_sessions.session_token",
      "sts_sessions.session_name",
      "sts_sessions.expires_at",
      "iam_roles.name",
      "iam_roles.id",
    ])
    .where("sts_sessions.access_key_id", "=", accessKeyId)
    .executeTakeFirst();
  // A session of a role deleted since is gone with it.
  if (row === undefined) return undefined;
  return {
    accessKeyId,
    secretAccessKey: row.secret,
    sessionToken: row.session_token,
    expiresAt: new Date(Number(row.expires_at)),
    principal: sessionPrincipal(identity, row.name, row.id, row.session_name),
  };
}

export function sessionPrincipal(
  identity: Identity,
  role: string,
  roleId: string,
  session: string,
): Principal {
  return {
    kind: "assumed-role",
    arn: assumedRoleArn(identity.accountId, role, session),
    accountId: identity.accountId,
    userId: `${roleId}:${session}`,
    name: role,
  };
}

/** Every policy of a user or role: its inline policies and the managed ones attached. */
export async function policiesOf(
  store: Store,
  kind: PrincipalKindInStore,
  name: string,
): Promise<PolicyDocument[]> {
  const inline = await store
    .selectFrom("iam_inline_policies")
    .select("document")
    .where("principal_kind", "=", kind)
    .where("principal_name", "=", name)
    .execute();
  const attached = await store
    .selectFrom("iam_attached_policies")
    .leftJoin("iam_policies", "iam_policies.arn", "iam_attached_policies.policy_arn")
    .select(["iam_attached_policies.policy_arn", "iam_policies.document"])
    .where("iam_attached_policies.principal_kind", "=", kind)
    .where("iam_attached_policies.principal_name", "=", name)
    .execute();
  const documents = [
    ...inline.map((row) => row.document),
    ...attached.map((row) => row.document ?? awsManagedPolicy(row.policy_arn)?.document),
  ];
  // Documents were checked when written; one that no longer parses allows nothing.
  return documents.flatMap((document) => {
    if (document === undefined || document === null) return [];
    try {
      return [parsePolicy(document, "identity")];
    } catch {
      return [];
    }
  });
}
