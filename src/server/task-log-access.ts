/**
 * The awslogs driver's writes from a host, authorized as Fargate's are: as a session of the
 * task's execution role, which must allow logs:CreateLogStream and logs:PutLogEvents on the
 * stream (and logs:CreateLogGroup with awslogs-create-group). A batch must also come from the
 * host the task is placed on and name a stream the task's own definition names, so a host's
 * agent cannot write into a log group no task of its asked for.
 */
import { BerthError } from "../core/index.js";
import type { AgentMessage, TaskAssignment } from "../protocol/index.js";
import { appendLogEvents } from "../services/logs/index.js";
import { executionRoleCheck, taskExecutionRole, type ExecutionRoleDeps } from "./execution-role.js";

type LogEvents = Extract<AgentMessage, { type: "logEvents" }>;

/**
 * Stores the batch as the task's execution role; resolves to the AWS error the write met
 * (`CODE: message`, as the ECS agent quotes it), or undefined once stored.
 */
export async function shipTaskLogEvents(
  deps: ExecutionRoleDeps & { now: () => Date },
  hostId: string,
  batch: LogEvents,
): Promise<string | undefined> {
  try {
    const task = await deps.store
      .selectFrom("tasks")
      .select(["assignment", "task_definition_arn", "host_id"])
      .where("arn", "=", batch.taskArn)
      .executeTakeFirst();
    // A stopped task's last lines still arrive: only the host and the stream are checked.
    if (task === undefined || task.host_id !== hostId)
      throw new BerthError(
        "AccessDeniedException",
        `task ${batch.taskArn} is not placed on this host`,
      );
    const assignment = JSON.parse(task.assignment) as TaskAssignment;
    const named = assignment.containers.some(
      (c) =>
        c.awslogs !== undefined &&
        c.awslogs.group === batch.group &&
        c.awslogs.stream === batch.stream &&
        c.awslogs.createGroup === batch.createGroup,
    );
    if (!named)
      throw new BerthError(
        "AccessDeniedException",
        `task ${batch.taskArn} does not ship to log stream ${batch.stream} of ${batch.group}`,
      );
    const roleArn = await taskExecutionRole(deps.store, assignment, task.task_definition_arn);
    const check = await executionRoleCheck(deps, roleArn, assignment.taskId);
    await appendLogEvents(
      deps.store,
      {
        group: batch.group,
        stream: batch.stream,
        createGroup: batch.createGroup,
        events: batch.events,
        authorize: { identity: deps.identity, check },
      },
      deps.now(),
    );
    return undefined;
  } catch (error) {
    return error instanceof BerthError
      ? `${error.code}: ${error.message}`
      : error instanceof Error
        ? error.message
        : String(error);
  }
}
