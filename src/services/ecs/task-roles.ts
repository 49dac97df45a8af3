/**
 * The roles a task definition hands to ECS (taskRoleArn, executionRoleArn), checked where ECS
 * checks them: the caller must be allowed `iam:PassRole` on each (RegisterTaskDefinition,
 * RunTask with or without a role override, CreateService, UpdateService to a new definition),
 * with IAM's AccessDenied; a role that
 * does not exist, or whose trust does not let ECS tasks assume it, gets ECS's ClientException.
 * IAM's side (policy evaluation, trust) comes in through `RoleGate`: no AWS service imports
 * another.
 */
import type { RequestContext, Principal } from "../../aws/index.js";
import type { Identity } from "../../core/index.js";
import type { Store, TaskDefinitionTable } from "../../store/index.js";
import { clientException } from "./errors.js";
import { findTaskDefinition, toTaskDefinition } from "./task-definitions.js";

export interface RoleGate {
  /** Throws IAM's AccessDeniedException unless the principal may `iam:PassRole` the role. */
  mayPass(principal: Principal, roleArn: string): Promise<void>;
  /** Whether ECS tasks may assume the role: it exists and its trust allows them. */
  assumable(roleArn: string): Promise<"ok" | "missing" | "untrusted">;
}

export interface PassedRoles {
  taskRoleArn?: string | undefined;
  executionRoleArn?: string | undefined;
}

/** ECS takes a role's name as well as its ARN. */
export function roleArnOf(identity: Identity, role: string): string {
  return role.startsWith("arn:") ? role : `arn:aws:iam::${identity.accountId}:role/${role}`;
}

function rolesOf(ctx: RequestContext, roles: PassedRoles): string[] {
  return [roles.taskRoleArn, roles.executionRoleArn]
    .filter((role): role is string => role !== undefined && role !== "")
    .map((role) => roleArnOf(ctx.identity, role));
}

/** RegisterTaskDefinition: pass each role, each must exist. */
export async function checkRegisteredRoles(
  gate: RoleGate,
  ctx: RequestContext,
  roles: PassedRoles,
): Promise<void> {
  for (const role of rolesOf(ctx, roles)) {
    await gate.mayPass(ctx.principal, role);
    // ECS's text for a role it cannot find when a definition is registered.
    if ((await gate.assumable(role)) === "missing") throw clientException("Role is not valid");
  }
}

/**
 * RunTask, CreateService and UpdateService: pass each role the task will have (overrides
 * win); for RunTask, ECS must also be able to assume them. The definition's row as read
 * (undefined: none), for the caller to use rather than read it again.
 */
export async function checkLaunchRoles(
  gate: RoleGate,
  store: Store,
  ctx: RequestContext,
  taskDefinition: string | undefined,
  overrides: PassedRoles,
  assume: boolean,
): Promise<TaskDefinitionTable | undefined> {
  const row =
    taskDefinition === undefined ? undefined : await findTaskDefinition(store, taskDefinition);
  await passLaunchRoles(gate, ctx, row, overrides, assume);
  return row;
}

/** `checkLaunchRoles` for a definition's row already read (undefined: none). */
export async function passLaunchRoles(
  gate: RoleGate,
  ctx: RequestContext,
  row: TaskDefinitionTable | undefined,
  overrides: PassedRoles,
  assume: boolean,
): Promise<void> {
  // An unknown definition is the handler's to refuse, with its own text.
  const definition = row === undefined ? {} : toTaskDefinition(row);
  const roles = rolesOf(ctx, {
    taskRoleArn: overrides.taskRoleArn ?? definition.taskRoleArn,
    executionRoleArn: overrides.executionRoleArn ?? definition.executionRoleArn,
  });
  for (const role of roles) await gate.mayPass(ctx.principal, role);
  if (!assume) return;
  for (const role of roles)
    if ((await gate.assumable(role)) !== "ok")
      throw clientException(
        `ECS was unable to assume the role '${role}' that was provided for this task. Please verify that the role being passed has the proper trust relationship and permissions and that your IAM user has permissions to pass this role.`,
      );
}
