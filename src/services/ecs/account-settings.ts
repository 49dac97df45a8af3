/**
 * ECS account settings: PutAccountSetting, PutAccountSettingDefault, ListAccountSettings and
 * DeleteAccountSetting. Tools set and read them on every run; Berth keeps them and answers as
 * ECS does, but acts on none (its ARNs are always the long format; it has no trunking or
 * Container Insights). Berth has one principal: the account's root.
 */
import type { ECS, Setting } from "@aws-sdk/client-ecs";
import type { RequestContext, Handlers } from "../../aws/index.js";
import type { Store } from "../../store/index.js";
import { invalidParameter } from "./errors.js";

/** What ECS answers for an account that never set them (new accounts since 2021). */
const DEFAULTS: Record<string, string> = {
  serviceLongArnFormat: "enabled",
  taskLongArnFormat: "enabled",
  containerInstanceLongArnFormat: "enabled",
  awsvpcTrunking: "disabled",
  containerInsights: "disabled",
};

const root = (ctx: RequestContext) => `arn:aws:iam::${ctx.identity.accountId}:root`;

function checkValue(name: string, value: string): void {
  // ECS's text for a bad value is not recorded; the code is the model's.
  if (
    value !== "enabled" &&
    value !== "disabled" &&
    !(name === "containerInsights" && value === "enhanced")
  )
    throw invalidParameter(`The value '${value}' is not valid for account setting '${name}'.`);
}

async function put(store: Store, principal: string, name: string, value: string): Promise<Setting> {
  checkValue(name, value);
  await store
    .insertInto("ecs_account_settings")
    .values({ principal_arn: principal, name, value })
    .onConflict((oc) => oc.columns(["principal_arn", "name"]).doUpdateSet({ value }))
    .execute();
  return { name: name as Setting["name"], value, principalArn: principal };
}

export function accountSettingHandlers(store: Store) {
  return {
    putAccountSetting: async (input, ctx) => ({
      setting: await put(
        store,
        input.principalArn ?? root(ctx),
        input.name ?? "",
        input.value ?? "",
      ),
    }),

    putAccountSettingDefault: async (input, ctx) => ({
      setting: await put(store, root(ctx), input.name ?? "", input.value ?? ""),
    }),

    deleteAccountSetting: async (input, ctx) => {
      const principal = input.principalArn ?? root(ctx);
      const name = input.name ?? "";
      const row = await store
        .selectFrom("ecs_account_settings")
        .selectAll()
        .where("principal_arn", "=", principal)
        .where("name", "=", name)
        .executeTakeFirst();
      await store
        .deleteFrom("ecs_account_settings")
        .where("principal_arn", "=", principal)
        .where("name", "=", name)
        .execute();
      return {
        setting: {
          name: name as Setting["name"],
          value: row?.value ?? DEFAULTS[name],
          principalArn: principal,
        },
      };
    },

    listAccountSettings: async (input, ctx) => {
      if (input.value !== undefined && input.name === undefined)
        throw invalidParameter("The value parameter requires the name parameter.");
      const principal = input.principalArn ?? root(ctx);
      const rows = await store
        .selectFrom("ecs_account_settings")
        .selectAll()
        .where("principal_arn", "=", principal)
        .orderBy("name")
        .execute();
      const set = new Map(rows.map((r) => [r.name, r.value]));
      const names = input.effectiveSettings === true ? Object.keys(DEFAULTS) : [...set.keys()];
      const settings: Setting[] = names
        .filter((name) => input.name === undefined || name === input.name)
        .map((name) => ({
          name: name as Setting["name"],
          value: set.get(name) ?? DEFAULTS[name] ?? "",
          principalArn: principal,
        }))
        .filter((s) => input.value === undefined || s.value === input.value);
      return { settings };
    },
  } satisfies Handlers<ECS>;
}
