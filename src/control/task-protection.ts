/**
 * ECS task scale-in protection (UpdateTaskProtection): a protected task is not chosen when its
 * service scales in, until its protection expires.
 */
import type { Store } from "../store/index.js";

/** ECS protects for 120 minutes unless told; at most 2,880 (48 hours). */
export const DEFAULT_PROTECTION_MINUTES = 120;

export async function protectedTaskArns(store: Store, now: number): Promise<Set<string>> {
  const rows = await store
    .selectFrom("task_protection")
    .select("task_arn")
    .where("expires_at", ">", now)
    .execute();
  return new Set(rows.map((r) => r.task_arn));
}

export async function setTaskProtection(
  store: Store,
  taskArn: string,
  expiresAt: number | undefined,
): Promise<void> {
  if (expiresAt === undefined) {
    await store.deleteFrom("task_protection").where("task_arn", "=", taskArn).execute();
    return;
  }
  await store
    .insertInto("task_protection")
    .values({ task_arn: taskArn, expires_at: expiresAt })
    .onConflict((oc) => oc.column("task_arn").doUpdateSet({ expires_at: expiresAt }))
    .execute();
}

export async function taskProtection(
  store: Store,
  taskArn: string,
  now: number,
): Promise<number | undefined> {
  const row = await store
    .selectFrom("task_protection")
    .select("expires_at")
    .where("task_arn", "=", taskArn)
    .executeTakeFirst();
  return row !== undefined && row.expires_at > now ? row.expires_at : undefined;
}
