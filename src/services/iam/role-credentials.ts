/**
 * Credentials of a role for a service acting on the account's behalf: ECS tasks (the task role
 * its containers use) and, later, what runs as a task's execution role (image pulls, log
 * shipping, secret reads). The one home for "a service assumes a role": the role's trust
 * policy must allow the service principal, as on AWS, and the session is an ordinary STS
 * session (ASIA key, secret, token, expiry) that every front door accepts until it expires.
 */
import type { Principal } from "../../aws/index.js";
import type { Clock, Identity } from "../../core/index.js";
import type { Store } from "../../store/index.js";
import type { IamAuthorizer } from "./authorizer.js";
import { trustAllows } from "./evaluate.js";
import { sessionPrincipal } from "./identities.js";
import { roleNameFromArn } from "./names.js";
import { parsePolicy } from "./policy-document.js";
import { assumeRoleSession, type RoleSession } from "./sts.js";

/** The service principal ECS tasks assume their task and execution roles as. */
export const ECS_TASKS_SERVICE = "ecs-tasks.amazonaws.com";
/** The service principal EventBridge Scheduler assumes a schedule's target RoleArn as. */
export const SCHEDULER_SERVICE = "scheduler.amazonaws.com";

/**
 * How long a task role's session lasts. ECS hands tasks credentials of about six hours and
 * rotates them well before they end; a role's MaxSessionDuration does not bind it.
 */
export const TASK_ROLE_SESSION_SECONDS = 6 * 60 * 60;

export interface RoleCredentialsOptions {
  store: Store;
  identity: Identity;
  clock: Clock;
  /** The session's length; a test shortens it to see expiry and rotation. */
  sessionSeconds?: number;
  service?: string;
}

/** `credentialsForRole(roleArn, sessionName)`: a fresh session of the role for the service. */
export type CredentialsForRole = (roleArn: string, sessionName: string) => Promise<RoleSession>;

export function roleCredentials(options: RoleCredentialsOptions): CredentialsForRole {
  const service = options.service ?? ECS_TASKS_SERVICE;
  return (roleArn, sessionName) =>
    assumeRoleSession(options.store, options.identity, options.clock.now(), {
      roleArn,
      sessionName,
      durationSeconds: options.sessionSeconds ?? TASK_ROLE_SESSION_SECONDS,
      caller: { service },
      service: true,
    });
}

/**
 * A service acting as a role on the account's behalf (EventBridge Scheduler calling RunTask):
 * a fresh session of the role (its trust must allow the service, or AccessDenied), and the
 * principal the calls it makes are authorized as.
 */
export function roleSessionPrincipal(
  options: RoleCredentialsOptions,
): (
  roleArn: string,
  sessionName: string,
) => Promise<{ accessKeyId: string; principal: Principal }> {
  const assume = roleCredentials(options);
  return async (roleArn, sessionName) => {
    const session = await assume(roleArn, sessionName);
    const role = roleNameFromArn(options.identity, roleArn) ?? "";
    return {
      accessKeyId: session.accessKeyId,
      principal: sessionPrincipal(options.identity, role, session.roleId, sessionName),
    };
  };
}

/** What ECS asks of IAM when roles are handed to tasks (`RoleGate` in services/ecs). */
export function ecsRoleGate(store: Store, identity: Identity, authorizer: IamAuthorizer) {
  return {
    mayPass: (principal: Principal, roleArn: string): Promise<void> =>
      authorizer.authorize(principal, "iam:PassRole", [
        { arn: roleArn, context: { "iam:passedtoservice": [ECS_TASKS_SERVICE] } },
      ]),
    assumable: async (roleArn: string): Promise<"ok" | "missing" | "untrusted"> => {
      const name = roleNameFromArn(identity, roleArn);
      const role =
        name === undefined
          ? undefined
          : await store
              .selectFrom("iam_roles")
              .select(["arn", "trust_policy"])
              .where("name", "=", name)
              .executeTakeFirst();
      if (role === undefined || role.arn !== roleArn) return "missing";
      const trust = parsePolicy(role.trust_policy, "trust");
      return trustAllows(trust, { service: ECS_TASKS_SERVICE }, "sts:AssumeRole")
        ? "ok"
        : "untrusted";
    },
  };
}
