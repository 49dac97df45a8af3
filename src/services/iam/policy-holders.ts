/** What keeps a user or role from being deleted: policies still on it, as IAM refuses. */
import type { Store } from "../../store/index.js";
import { deleteConflict } from "./errors.js";

export async function refuseWhilePoliciesHeld(
  store: Store,
  kind: "user" | "role",
  name: string,
): Promise<void> {
  const inline = await store
    .selectFrom("iam_inline_policies")
    .select("policy_name")
    .where("principal_kind", "=", kind)
    .where("principal_name", "=", name)
    .executeTakeFirst();
  if (inline !== undefined)
    throw deleteConflict("Cannot delete entity, must delete policies first.");
  const attached = await store
    .selectFrom("iam_attached_policies")
    .select("policy_arn")
    .where("principal_kind", "=", kind)
    .where("principal_name", "=", name)
    .executeTakeFirst();
  if (attached !== undefined)
    throw deleteConflict("Cannot delete entity, must detach all policies first.");
}
