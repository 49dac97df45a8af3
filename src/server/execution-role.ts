/**
 * Acting as a task's execution role, the one home for it: the secrets and registry login at
 * start (task-secrets.ts) and the awslogs driver's writes (task-log-access.ts) are each
 * authorized as a session of that role named for the task, as Fargate's agent acts.
 */
import type { Authorizer } from "../aws/index.js";
import type { Identity } from "../core/index.js";
import type { TaskAssignment } from "../protocol/index.js";
import { sessionPrincipal } from "../services/iam/index.js";
import type { Store } from "../store/index.js";

/** Throws AWS's AccessDeniedException unless the role may do `action` on `resourceArn`. */
export type ExecutionRoleCheck = (action: string, resourceArn: string) => Promise<void>;

export interface ExecutionRoleDeps {
  store: Store;
  authorizer: Authorizer;
  identity: Identity;
}

/** The execution role a task runs with: RunTask records it (an override included). */
export async function taskExecutionRole(
  store: Store,
  assignment: TaskAssignment,
  taskDefinitionArn: string,
): Promise<string | undefined> {
  if (assignment.executionRoleArn !== undefined) return assignment.executionRoleArn;
  // A task dispatched before RunTask recorded it: the definition's.
  const definition = await store
    .selectFrom("task_definitions")
    .select("document")
    .where("arn", "=", taskDefinitionArn)
    .executeTakeFirst();
  return definition === undefined
    ? undefined
    : (JSON.parse(definition.document) as { executionRoleArn?: string }).executionRoleArn;
}

/** As the execution role (its policies, as a session named for the task), or, with none, as the account. */
export async function executionRoleCheck(
  deps: ExecutionRoleDeps,
  roleArn: string | undefined,
  taskId: string,
): Promise<ExecutionRoleCheck> {
  // ECS refuses secrets, and awslogs on Fargate, without an execution role at registration (so
  // does Berth since it has IAM); a definition registered before then acts as the account.
  if (roleArn === undefined || roleArn === "") return async () => undefined;
  const name = roleArn.slice(roleArn.lastIndexOf("/") + 1);
  const role = await deps.store
    .selectFrom("iam_roles")
    .select("id")
    .where("name", "=", name)
    .executeTakeFirst();
  // A role deleted since has no policies: every action is refused, as for a session of it.
  const principal = sessionPrincipal(deps.identity, name, role?.id ?? "AROAUNKNOWN", taskId);
  return (action, arn) => deps.authorizer.authorize(principal, action, [{ arn }]);
}
