/**
 * STS: GetCallerIdentity (who signed this), and AssumeRole, which checks the role's trust
 * policy and hands out temporary credentials (ASIA key, secret, session token, expiry) that
 * every front door accepts until they expire. Task roles take the same path with the ECS tasks
 * service as the caller (`assumeRoleSession`).
 */
import type * as sts from "@aws-sdk/client-sts";
import { AwsError, type Principal, type Handlers } from "../../aws/index.js";
import type { Identity } from "../../core/index.js";
import type { Store } from "../../store/index.js";
import { accessDenied } from "./authorizer.js";
import { trustAllows, type TrustCaller } from "./evaluate.js";
import {
  assumedRoleArn,
  newAccessKeyId,
  newSecretAccessKey,
  newSessionToken,
  roleNameFromArn,
} from "./names.js";
import { parsePolicy } from "./policy-document.js";

/** STS's bounds on DurationSeconds; role chaining is held to an hour, as in AWS. */
const MIN_DURATION_S = 900;
const CHAINED_MAX_S = 3600;
/** Sessions expired this long ago are forgotten when a new one is made. */
const FORGET_AFTER_MS = 24 * 60 * 60 * 1000;

export interface RoleSession {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
  roleId: string;
  arn: string;
}

export interface AssumeRoleSpec {
  roleArn: string;
  sessionName: string;
  durationSeconds?: number;
  caller: TrustCaller;
  /** Denials name this principal (the caller); a service caller names the role ARN. */
  principal?: Principal;
  chained?: boolean;
  /**
   * A session for a service acting for the account (ECS tasks): STS's DurationSeconds bounds
   * and the role's MaxSessionDuration do not apply, as they do not to ECS's task credentials.
   */
  service?: boolean;
}

/**
 * Checks the role's trust policy for `caller` and records a new session. A role that does not
 * exist is refused as one whose trust does not allow the caller (AWS says AccessDenied too).
 */
export async function assumeRoleSession(
  store: Store,
  identity: Identity,
  now: Date,
  spec: AssumeRoleSpec,
): Promise<RoleSession> {
  const denied = (): AwsError =>
    spec.principal === undefined
      ? new AwsError(
          "AccessDeniedException",
          `Not authorized to perform sts:AssumeRole on ${spec.roleArn}`,
        )
      : // The role's trust policy is the resource-based policy that did not allow the caller.
        accessDenied(spec.principal, "sts:AssumeRole", spec.roleArn, "NoResourcePolicy");
  const name = roleNameFromArn(identity, spec.roleArn);
  if (name === undefined) throw denied();
  const role = await store
    .selectFrom("iam_roles")
    .selectAll()
    .where("name", "=", name)
    .executeTakeFirst();
  if (role === undefined || role.arn !== spec.roleArn) throw denied();
  if (!trustAllows(parsePolicy(role.trust_policy, "trust"), spec.caller, "sts:AssumeRole"))
    throw denied();
  const max = spec.chained === true ? CHAINED_MAX_S : role.max_session_duration;
  const duration = spec.durationSeconds ?? Math.min(3600, max);
  // A service session is not bound by STS's limits (see AssumeRoleSpec.service).
  const bounded = spec.service !== true;
  if (bounded && duration < MIN_DURATION_S)
    throw new AwsError(
      "ValidationError",
      `1 validation error detected: Value '${duration}' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to ${MIN_DURATION_S}`,
    );
  if (bounded && duration > max)
    throw new AwsError(
      "ValidationError",
      spec.chained === true
        ? "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining."
        : "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
    );
  const session = {
    access_key_id: newAccessKeyId("ASIA"),
    secret: newSecretAccessKey(),
    session_token: newSessionToken(),
    role_name: role.name,
    session_name: spec.sessionName,
    expires_at: now.getTime() + duration * 1000,
  };
  await store.transaction().execute(async (tx) => {
    await tx
      .deleteFrom("sts_sessions")
      .where("expires_at", "<", now.getTime() - FORGET_AFTER_MS)
      .execute();
    await tx.insertInto("sts_sessions").values(session).execute();
  });
  return {
    accessKeyId: session.access_key_id,
    secretAccessKey: session.secret,
    sessionToken: session.session_token,
    expiration: new Date(session.expires_at),
    roleId: role.id,
    arn: assumedRoleArn(identity.accountId, role.name, spec.sessionName),
  };
}

export function stsHandlers(store: Store) {
  return {
    getCallerIdentity: (_input, ctx) => {
      return Promise.resolve({
        UserId: ctx.principal.userId,
        Account: ctx.principal.accountId,
        Arn: ctx.principal.arn,
      });
    },

    assumeRole: async (input, ctx) => {
      const principal = ctx.principal;
      if (principal.kind === "root")
        throw new AwsError("AccessDeniedException", "Roles may not be assumed by root accounts.");
      const callerArn =
        principal.kind === "assumed-role"
          ? `arn:aws:iam::${principal.accountId}:role/${principal.name ?? ""}`
          : principal.arn;
      const session = await assumeRoleSession(store, ctx.identity, ctx.clock.now(), {
        roleArn: input.RoleArn as string,
        sessionName: input.RoleSessionName as string,
        ...(input.DurationSeconds === undefined ? {} : { durationSeconds: input.DurationSeconds }),
        caller: { arn: callerArn, accountId: principal.accountId },
        principal,
        chained: principal.kind === "assumed-role",
      });
      return {
        Credentials: {
          AccessKeyId: session.accessKeyId,
          SecretAccessKey: session.secretAccessKey,
          SessionToken: session.sessionToken,
          Expiration: session.expiration,
        },
        AssumedRoleUser: {
          AssumedRoleId: `${session.roleId}:${input.RoleSessionName ?? ""}`,
          Arn: session.arn,
        },
      };
    },
  } satisfies Handlers<sts.STS>;
}
