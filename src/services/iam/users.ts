/** IAM users and their access keys (at most two per user, as IAM allows). */
import type * as iam from "@aws-sdk/client-iam";
import { AwsError, type RequestContext, type Handlers } from "../../aws/index.js";
import type { Store } from "../../store/index.js";
import type { IamUserTable } from "../../store/schema.js";
import { alreadyExists, deleteConflict, noSuchEntity, userNotFound } from "./errors.js";
import { newAccessKeyId, newSecretAccessKey, newUniqueId, userArn } from "./names.js";
import { page } from "./pages.js";
import { refuseWhilePoliciesHeld } from "./policy-holders.js";

const ACCESS_KEYS_PER_USER = 2;

function toUser(row: IamUserTable): iam.User {
  return {
    Path: row.path,
    UserName: row.name,
    UserId: row.id,
    Arn: row.arn,
    CreateDate: new Date(Number(row.created_at)),
  };
}

export async function requireUser(store: Store, name: string): Promise<IamUserTable> {
  return store
    .selectFrom("iam_users")
    .selectAll()
    .where("name", "=", name)
    .executeTakeFirstOrThrow(() => userNotFound(name));
}

/** The user a request names, or the caller itself when it names none (as IAM does). */
function namedOrCaller(name: string | undefined, ctx: RequestContext): string {
  if (name !== undefined) return name;
  if (ctx.principal.kind === "user" && ctx.principal.name !== undefined) return ctx.principal.name;
  // IAM answers a root or role caller that names no user this way.
  throw new AwsError(
    "ValidationError",
    "Must specify userName when calling with non-User credentials",
  );
}

export function userHandlers(store: Store) {
  return {
    createUser: async (input, ctx) => {
      const name = input.UserName as string;
      const path = input.Path ?? "/";
      const existing = await store
        .selectFrom("iam_users")
        .select("name")
        .where((eb) => eb(eb.fn("lower", ["name"]), "=", name.toLowerCase()))
        .executeTakeFirst();
      if (existing !== undefined) throw alreadyExists(`User with name ${name} already exists.`);
      const row: IamUserTable = {
        name,
        id: newUniqueId("AIDA"),
        arn: userArn(ctx.identity, path, name),
        path,
        created_at: ctx.clock.now().getTime(),
      };
      await store.insertInto("iam_users").values(row).execute();
      return { User: toUser(row) };
    },

    getUser: async (input, ctx) => {
      if (input.UserName === undefined && ctx.principal.kind === "root")
        return {
          User: {
            Path: "/",
            UserName: undefined,
            UserId: ctx.principal.accountId,
            Arn: ctx.principal.arn,
            CreateDate: new Date(0),
          },
        };
      return { User: toUser(await requireUser(store, namedOrCaller(input.UserName, ctx))) };
    },

    listUsers: async (input) => {
      const prefix = input.PathPrefix ?? "/";
      const rows = await store.selectFrom("iam_users").selectAll().orderBy("name").execute();
      const inPath = rows.filter((row) => row.path.startsWith(prefix));
      const { items, ...rest } = page(inPath, (row) => row.name, input);
      return { Users: items.map(toUser), ...rest };
    },

    deleteUser: async (input) => {
      const name = input.UserName as string;
      await requireUser(store, name);
      const keys = await store
        .selectFrom("iam_access_keys")
        .select("access_key_id")
        .where("user_name", "=", name)
        .executeTakeFirst();
      if (keys !== undefined)
        throw deleteConflict("Cannot delete entity, must delete access keys first.");
      await refuseWhilePoliciesHeld(store, "user", name);
      await store.deleteFrom("iam_users").where("name", "=", name).execute();
      return {};
    },

    createAccessKey: async (input, ctx) => {
      const name = namedOrCaller(input.UserName, ctx);
      await requireUser(store, name);
      const count = await store
        .selectFrom("iam_access_keys")
        .select((eb) => eb.fn.countAll<number>().as("n"))
        .where("user_name", "=", name)
        .executeTakeFirstOrThrow();
      if (Number(count.n) >= ACCESS_KEYS_PER_USER)
        throw new AwsError(
          "LimitExceeded",
          `Cannot exceed quota for AccessKeysPerUser: ${ACCESS_KEYS_PER_USER}`,
        );
      const row = {
        access_key_id: newAccessKeyId("AKIA"),
        user_name: name,
        secret: newSecretAccessKey(),
        status: "Active",
        created_at: ctx.clock.now().getTime(),
      };
      await store.insertInto("iam_access_keys").values(row).execute();
      return {
        AccessKey: {
          UserName: name,
          AccessKeyId: row.access_key_id,
          Status: "Active",
          SecretAccessKey: row.secret,
          CreateDate: new Date(row.created_at),
        },
      };
    },

    listAccessKeys: async (input, ctx) => {
      const name = namedOrCaller(input.UserName, ctx);
      await requireUser(store, name);
      const rows = await store
        .selectFrom("iam_access_keys")
        .selectAll()
        .where("user_name", "=", name)
        .orderBy("access_key_id")
        .execute();
      const { items, ...rest } = page(rows, (row) => row.access_key_id, input);
      return {
        AccessKeyMetadata: items.map((row) => ({
          UserName: row.user_name,
          AccessKeyId: row.access_key_id,
          Status: row.status as iam.StatusType,
          CreateDate: new Date(Number(row.created_at)),
        })),
        ...rest,
      };
    },

    updateAccessKey: async (input, ctx) => {
      const name = namedOrCaller(input.UserName, ctx);
      const result = await store
        .updateTable("iam_access_keys")
        .set({ status: input.Status as string })
        .where("access_key_id", "=", input.AccessKeyId as string)
        .where("user_name", "=", name)
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) === 0)
        throw noSuchEntity(`The Access Key with id ${input.AccessKeyId ?? ""} cannot be found.`);
      return {};
    },

    deleteAccessKey: async (input, ctx) => {
      const name = namedOrCaller(input.UserName, ctx);
      const result = await store
        .deleteFrom("iam_access_keys")
        .where("access_key_id", "=", input.AccessKeyId as string)
        .where("user_name", "=", name)
        .executeTakeFirst();
      if (Number(result.numDeletedRows) === 0)
        throw noSuchEntity(`The Access Key with id ${input.AccessKeyId ?? ""} cannot be found.`);
      return {};
    },
  } satisfies Handlers<iam.IAM>;
}
