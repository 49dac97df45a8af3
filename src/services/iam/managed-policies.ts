/**
 * Managed policies: customer managed ones (one version, `v1`; CreatePolicyVersion is not
 * served) and the AWS managed ones Berth knows (`aws-managed.ts`), attached to users and roles.
 */
import type * as iam from "@aws-sdk/client-iam";
import type { Handlers } from "../../aws/index.js";
import type { Store } from "../../store/index.js";
import { AWS_MANAGED_POLICIES, awsManagedPolicy } from "./aws-managed.js";
import {
  alreadyExists,
  deleteConflict,
  invalidInput,
  noSuchEntity,
  policyNotFound,
} from "./errors.js";
import type { PrincipalKindInStore } from "./identities.js";
import { requirePrincipal } from "./inline-policies.js";
import { encodeDocument, newUniqueId, policyArn } from "./names.js";
import { page, type Paging } from "./pages.js";
import { parsePolicy } from "./policy-document.js";

interface ManagedPolicy {
  arn: string;
  name: string;
  id: string;
  path: string;
  document: string;
  description?: string;
  createdAt: Date;
  local: boolean;
}

function checkPolicyArn(arn: string): void {
  if (!/^arn:aws:iam::(\d{12}|aws):policy\/.+$/.test(arn))
    throw invalidInput(`ARN ${arn} is not valid.`);
}

async function findPolicy(store: Store, arn: string): Promise<ManagedPolicy | undefined> {
  const managed = awsManagedPolicy(arn);
  if (managed !== undefined)
    return {
      ...managed,
      id: "ANPA" + managed.name.toUpperCase().slice(0, 17).padEnd(17, "X"),
      createdAt: new Date(0),
      local: false,
    };
  const row = await store
    .selectFrom("iam_policies")
    .selectAll()
    .where("arn", "=", arn)
    .executeTakeFirst();
  if (row === undefined) return undefined;
  return {
    arn: row.arn,
    name: row.name,
    id: row.id,
    path: row.path,
    document: row.document,
    ...(row.description === null ? {} : { description: row.description }),
    createdAt: new Date(Number(row.created_at)),
    local: true,
  };
}

async function requirePolicy(store: Store, arn: string): Promise<ManagedPolicy> {
  checkPolicyArn(arn);
  const found = await findPolicy(store, arn);
  if (found === undefined) throw policyNotFound(arn);
  return found;
}

async function attachmentCount(store: Store, arn: string): Promise<number> {
  const row = await store
    .selectFrom("iam_attached_policies")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .where("policy_arn", "=", arn)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

async function toPolicy(store: Store, policy: ManagedPolicy): Promise<iam.Policy> {
  return {
    PolicyName: policy.name,
    PolicyId: policy.id,
    Arn: policy.arn,
    Path: policy.path,
    DefaultVersionId: "v1",
    AttachmentCount: await attachmentCount(store, policy.arn),
    PermissionsBoundaryUsageCount: 0,
    IsAttachable: true,
    ...(policy.description === undefined ? {} : { Description: policy.description }),
    CreateDate: policy.createdAt,
    UpdateDate: policy.createdAt,
  };
}

function attachments(store: Store, kind: PrincipalKindInStore) {
  return {
    attach: async (name: string, arn: string): Promise<Record<string, never>> => {
      await requirePrincipal(store, kind, name);
      await requirePolicy(store, arn);
      await store
        .insertInto("iam_attached_policies")
        .values({ principal_kind: kind, principal_name: name, policy_arn: arn })
        .onConflict((oc) => oc.doNothing())
        .execute();
      return {};
    },
    detach: async (name: string, arn: string): Promise<Record<string, never>> => {
      await requirePrincipal(store, kind, name);
      checkPolicyArn(arn);
      const result = await store
        .deleteFrom("iam_attached_policies")
        .where("principal_kind", "=", kind)
        .where("principal_name", "=", name)
        .where("policy_arn", "=", arn)
        .executeTakeFirst();
      if (Number(result.numDeletedRows) === 0) throw noSuchEntity(`Policy ${arn} was not found.`);
      return {};
    },
    list: async (name: string, paging: Paging) => {
      await requirePrincipal(store, kind, name);
      const rows = await store
        .selectFrom("iam_attached_policies")
        .select("policy_arn")
        .where("principal_kind", "=", kind)
        .where("principal_name", "=", name)
        .orderBy("policy_arn")
        .execute();
      const { items, ...rest } = page(rows, (row) => row.policy_arn, paging);
      const attached: iam.AttachedPolicy[] = [];
      for (const { policy_arn: arn } of items)
        attached.push({
          PolicyArn: arn,
          PolicyName: (await findPolicy(store, arn))?.name ?? arn.split("/").pop(),
        });
      return { AttachedPolicies: attached, ...rest };
    },
  };
}

export function managedPolicyHandlers(store: Store) {
  const users = attachments(store, "user");
  const roles = attachments(store, "role");
  return {
    createPolicy: async (input, ctx) => {
      const name = input.PolicyName as string;
      const path = input.Path ?? "/";
      const document = input.PolicyDocument as string;
      parsePolicy(document, "identity");
      const existing = await store
        .selectFrom("iam_policies")
        .select("arn")
        .where("name", "=", name)
        .executeTakeFirst();
      if (existing !== undefined)
        throw alreadyExists(
          `A policy called ${name} already exists. Duplicate names are not allowed.`,
        );
      const row = {
        arn: policyArn(ctx.identity, path, name),
        name,
        id: newUniqueId("ANPA"),
        path,
        document,
        description: input.Description ?? null,
        created_at: ctx.clock.now().getTime(),
      };
      await store.insertInto("iam_policies").values(row).execute();
      return { Policy: await toPolicy(store, (await findPolicy(store, row.arn)) as ManagedPolicy) };
    },

    getPolicy: async (input) => {
      return {
        Policy: await toPolicy(store, await requirePolicy(store, input.PolicyArn as string)),
      };
    },

    getPolicyVersion: async (input) => {
      const policy = await requirePolicy(store, input.PolicyArn as string);
      if (input.VersionId !== "v1")
        throw noSuchEntity(
          `Policy ${policy.arn} version ${input.VersionId ?? ""} does not exist or is not attachable.`,
        );
      return {
        PolicyVersion: {
          Document: encodeDocument(policy.document),
          VersionId: "v1",
          IsDefaultVersion: true,
          CreateDate: policy.createdAt,
        },
      };
    },

    listPolicies: async (input) => {
      const scope = input.Scope ?? "All";
      const prefix = input.PathPrefix ?? "/";
      const local =
        scope === "AWS" ? [] : await store.selectFrom("iam_policies").select("arn").execute();
      const arns = [
        ...(scope === "Local" ? [] : AWS_MANAGED_POLICIES.map((p) => p.arn)),
        ...local.map((r) => r.arn),
      ];
      const all: iam.Policy[] = [];
      for (const arn of arns) {
        const policy = (await findPolicy(store, arn)) as ManagedPolicy;
        if (!policy.path.startsWith(prefix)) continue;
        const shaped = await toPolicy(store, policy);
        if (input.OnlyAttached === true && shaped.AttachmentCount === 0) continue;
        all.push(shaped);
      }
      all.sort((a, b) => ((a.PolicyName ?? "") < (b.PolicyName ?? "") ? -1 : 1));
      const { items, ...rest } = page(all, (p) => p.PolicyName ?? "", input);
      return { Policies: items, ...rest };
    },

    deletePolicy: async (input) => {
      const policy = await requirePolicy(store, input.PolicyArn as string);
      // IAM refuses to delete AWS managed policies; it says the caller may not.
      if (!policy.local) throw invalidInput(`ARN ${policy.arn} is not valid.`);
      if ((await attachmentCount(store, policy.arn)) > 0)
        throw deleteConflict("Cannot delete a policy attached to entities.");
      await store.deleteFrom("iam_policies").where("arn", "=", policy.arn).execute();
      return {};
    },

    attachUserPolicy: (i) => users.attach(i.UserName as string, i.PolicyArn as string),
    detachUserPolicy: (i) => users.detach(i.UserName as string, i.PolicyArn as string),
    listAttachedUserPolicies: (i) => users.list(i.UserName as string, i),
    attachRolePolicy: (i) => roles.attach(i.RoleName as string, i.PolicyArn as string),
    detachRolePolicy: (i) => roles.detach(i.RoleName as string, i.PolicyArn as string),
    listAttachedRolePolicies: (i) => roles.list(i.RoleName as string, i),
  } satisfies Handlers<iam.IAM>;
}
