/**
 * The server's end of task role credentials: an agent asks for a task's credentials over its
 * channel, and only a live task placed on that very host gets any (a host cannot ask for
 * another host's tasks, nor for a stopped task's). The role comes from the task's assignment,
 * as recorded at RunTask, never from the agent; minting (an STS session of the role, with
 * `ecs-tasks.amazonaws.com` as the caller its trust policy must allow) is the caller's.
 */
import { BerthError } from "../core/index.js";
import type { TaskAssignment, TaskRoleCredentials } from "../protocol/index.js";
import type { Store } from "../store/index.js";

/** Makes an STS session of `roleArn` for a task (the IAM service's; injected by the server). */
export type RoleCredentialMinter = (
  roleArn: string,
  sessionName: string,
) => Promise<Omit<TaskRoleCredentials, "roleArn">>;

/** The code of a refusal: the agent answers the task's credentials endpoint with a 4xx. */
export const TASK_CREDENTIALS_REFUSED = "TaskCredentialsRefused";

function refused(message: string): BerthError {
  return new BerthError(TASK_CREDENTIALS_REFUSED, message, { status: 403 });
}

export async function taskRoleCredentials(
  store: Store,
  mint: RoleCredentialMinter,
  hostId: string,
  taskArn: string,
): Promise<TaskRoleCredentials> {
  const row = await store
    .selectFrom("tasks")
    .select(["assignment", "id"])
    .where("arn", "=", taskArn)
    .where("host_id", "=", hostId)
    .where("last_status", "!=", "STOPPED")
    .executeTakeFirstOrThrow(() => refused("no such live task on this host"));
  const role = (JSON.parse(row.assignment) as TaskAssignment).taskRole;
  if (role === undefined) throw refused("the task has no task role");
  // ECS names the role session after the task id.
  return { ...(await mint(role.roleArn, row.id)), roleArn: role.roleArn };
}
