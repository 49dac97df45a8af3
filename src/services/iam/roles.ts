/** IAM roles: a trust policy (who may assume it) and a maximum session length. */
import type * as iam from "@aws-sdk/client-iam";
import type { Handlers } from "../../aws/index.js";
import type { Store } from "../../store/index.js";
import type { IamRoleTable } from "../../store/schema.js";
import { alreadyExists, roleNotFound } from "./errors.js";
import { encodeDocument, newUniqueId, roleArn } from "./names.js";
import { page } from "./pages.js";
import { refuseWhilePoliciesHeld } from "./policy-holders.js";
import { parsePolicy } from "./policy-document.js";

function toRole(row: IamRoleTable): iam.Role {
  return {
    Path: row.path,
    RoleName: row.name,
    RoleId: row.id,
    Arn: row.arn,
    CreateDate: new Date(Number(row.created_at)),
    AssumeRolePolicyDocument: encodeDocument(row.trust_policy),
    ...(row.description === null ? {} : { Description: row.description }),
    MaxSessionDuration: row.max_session_duration,
  };
}

export async function requireRole(store: Store, name: string): Promise<IamRoleTable> {
  return store
    .selectFrom("iam_roles")
    .selectAll()
    .where("name", "=", name)
    .executeTakeFirstOrThrow(() => roleNotFound(name));
}

export function roleHandlers(store: Store) {
  return {
    createRole: async (input, ctx) => {
      const name = input.RoleName as string;
      const path = input.Path ?? "/";
      const trust = input.AssumeRolePolicyDocument as string;
      parsePolicy(trust, "trust");
      const existing = await store
        .selectFrom("iam_roles")
        .select("name")
        .where((eb) => eb(eb.fn("lower", ["name"]), "=", name.toLowerCase()))
        .executeTakeFirst();
      if (existing !== undefined) throw alreadyExists(`Role with name ${name} already exists.`);
      const row: IamRoleTable = {
        name,
        id: newUniqueId("AROA"),
        arn: roleArn(ctx.identity, path, name),
        path,
        trust_policy: trust,
        description: input.Description ?? null,
        max_session_duration: input.MaxSessionDuration ?? 3600,
        created_at: ctx.clock.now().getTime(),
      };
      await store.insertInto("iam_roles").values(row).execute();
      return { Role: toRole(row) };
    },

    getRole: async (input) => {
      return { Role: toRole(await requireRole(store, input.RoleName as string)) };
    },

    listRoles: async (input) => {
      const prefix = input.PathPrefix ?? "/";
      const rows = await store.selectFrom("iam_roles").selectAll().orderBy("name").execute();
      const inPath = rows.filter((row) => row.path.startsWith(prefix));
      const { items, ...rest } = page(inPath, (row) => row.name, input);
      return { Roles: items.map(toRole), ...rest };
    },

    updateAssumeRolePolicy: async (input) => {
      const name = input.RoleName as string;
      const trust = input.PolicyDocument as string;
      parsePolicy(trust, "trust");
      await requireRole(store, name);
      await store
        .updateTable("iam_roles")
        .set({ trust_policy: trust })
        .where("name", "=", name)
        .execute();
      return {};
    },

    deleteRole: async (input) => {
      const name = input.RoleName as string;
      await requireRole(store, name);
      await refuseWhilePoliciesHeld(store, "role", name);
      await store.transaction().execute(async (tx) => {
        await tx.deleteFrom("iam_roles").where("name", "=", name).execute();
        // Its sessions die with it: their credentials stop working at once.
        await tx.deleteFrom("sts_sessions").where("role_name", "=", name).execute();
      });
      return {};
    },
  } satisfies Handlers<iam.IAM>;
}
