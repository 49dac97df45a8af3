/**
 * Which OCI runtime runs a task: runc (namespaces and cgroups, the default) or runsc (gVisor:
 * a user-space kernel per task, the kernel boundary Fargate draws with microVMs). ECS has no
 * such setting, so Berth reads a tag, `berth:runtime` = `runc` | `runsc`: on the task
 * definition, else on the cluster. Tags pass through every ECS client unchanged.
 */
import type { Store } from "../../store/index.js";
import { invalidParameter } from "./errors.js";

export const RUNTIME_TAG = "berth:runtime";
export const SANDBOX_RUNTIMES = ["runc", "runsc"] as const;
export type SandboxRuntime = (typeof SANDBOX_RUNTIMES)[number];

/** The runtime the tags ask for; undefined (the host's default, runc) when none does. */
export async function sandboxRuntime(
  store: Store,
  clusterArn: string,
  taskDefinitionArn: string,
): Promise<SandboxRuntime | undefined> {
  // Both resources' tag in one query (a round trip each was two of a RunTask's on PostgreSQL).
  const rows = await store
    .selectFrom("tags")
    .select(["resource_arn", "value"])
    .where("resource_arn", "in", [taskDefinitionArn, clusterArn])
    .where("key", "=", RUNTIME_TAG)
    .execute();
  return runtimeOfTags([
    [taskDefinitionArn, rows.find((row) => row.resource_arn === taskDefinitionArn)?.value],
    [clusterArn, rows.find((row) => row.resource_arn === clusterArn)?.value],
  ]);
}

/**
 * The runtime the first tag present asks for (the definition's, then the cluster's), as
 * `[resource ARN, the tag's value or undefined]`; undefined when neither has one.
 */
export function runtimeOfTags(
  tags: ReadonlyArray<readonly [string, string | null | undefined]>,
): SandboxRuntime | undefined {
  for (const [arn, value] of tags) {
    if (value === undefined || value === null) continue;
    if (!(SANDBOX_RUNTIMES as readonly string[]).includes(value))
      throw invalidParameter(
        `The ${RUNTIME_TAG} tag of ${arn} is '${value}'; it must be runc or runsc.`,
      );
    return value as SandboxRuntime;
  }
  return undefined;
}
