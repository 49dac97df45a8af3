/**
 * A task's `secrets`, `repositoryCredentials` and its execution role's registry login,
 * resolved when its host starts it: the agent asks over its channel (`secretsRequest`), this
 * reads each value from Secrets Manager or Parameter Store as the task's execution role, and
 * the answer goes back over the channel only. Values are never written to the task's record, its assignment, or a log line.
 *
 * The reference forms are ECS's: `valueFrom` a secret's ARN, optionally followed by
 * `:json-key:version-stage:version-id` (each part may be empty), or a parameter's ARN or
 * name; `credentialsParameter` a secret (ARN or name) whose value is
 * `{"username": ..., "password": ...}`.
 */
import type { Authorizer } from "../aws/index.js";
import { BerthError, type Identity, type ValueSealer } from "../core/index.js";
import type { ContainerSecrets, TaskAssignment } from "../protocol/index.js";
import { readSecretValue } from "../services/secretsmanager/index.js";
import { readParameterValue } from "../services/ssm/index.js";
import type { Store } from "../store/index.js";
import {
  executionRoleCheck,
  taskExecutionRole,
  type ExecutionRoleCheck,
} from "./execution-role.js";

export type SecretReference =
  | {
      kind: "secret";
      secretId: string;
      jsonKey?: string;
      versionStage?: string;
      versionId?: string;
    }
  | { kind: "parameter"; name: string };

/** What a `valueFrom` names, or a BerthError saying why it names nothing ECS accepts. */
export function parseValueFrom(valueFrom: string, identity: Identity): SecretReference {
  if (!valueFrom.startsWith("arn:")) return { kind: "parameter", name: valueFrom };
  const parts = valueFrom.split(":");
  const service = parts[2];
  if (service === "ssm" && (parts[5] ?? "").startsWith("parameter"))
    return { kind: "parameter", name: valueFrom };
  if (
    service !== "secretsmanager" ||
    parts[5] !== "secret" ||
    (parts[6] ?? "") === "" ||
    parts.length > 10
  )
    throw invalidReference(valueFrom);
  if (parts[3] !== identity.region || parts[4] !== identity.accountId)
    throw invalidReference(valueFrom);
  const [jsonKey, versionStage, versionId] = parts.slice(7);
  return {
    kind: "secret",
    secretId: parts.slice(0, 7).join(":"),
    ...(jsonKey ? { jsonKey } : {}),
    ...(versionStage ? { versionStage } : {}),
    ...(versionId ? { versionId } : {}),
  };
}

const invalidReference = (valueFrom: string): BerthError =>
  new BerthError("InvalidSecretReference", `invalid secret reference: ${valueFrom}`);

export interface TaskSecretsDeps {
  store: Store;
  sealer: ValueSealer;
  authorizer: Authorizer;
  identity: Identity;
  now: () => number;
  /** The names of Berth's own registries (`host:port`): the ones an execution role pulls from. */
  registryHosts?: () => readonly string[];
  /** A registry login for a fresh session of the execution role: the pulls are that role's. */
  registryAuth?: (roleArn: string, sessionName: string) => Promise<RegistryLogin>;
}

export interface RegistryLogin {
  username: string;
  password: string;
}

/**
 * The secret environment and registry credentials of `taskArn`'s containers, for the host it
 * is placed on and no other; failures carry ECS's wording after its
 * `ResourceInitializationError: unable to pull secrets or registry auth:` prefix.
 */
export async function resolveTaskSecrets(
  deps: TaskSecretsDeps,
  hostId: string,
  taskArn: string,
): Promise<ContainerSecrets[]> {
  const { store } = deps;
  const task = await store
    .selectFrom("tasks")
    .select(["assignment", "task_definition_arn", "host_id", "last_status"])
    .where("arn", "=", taskArn)
    .executeTakeFirst();
  // Another host's task, or one gone: nothing to say (the agent fails its start).
  if (task === undefined || task.host_id !== hostId || task.last_status === "STOPPED")
    throw new BerthError("TaskNotOnHost", `task ${taskArn} is not placed on this host`);
  const assignment = JSON.parse(task.assignment) as TaskAssignment;
  const roleArn = await taskExecutionRole(store, assignment, task.task_definition_arn);
  const authorize = await executionRoleCheck(deps, roleArn, assignment.taskId);
  const resolved: ContainerSecrets[] = [];
  for (const container of assignment.containers) {
    const environment: { name: string; value: string }[] = [];
    for (const secret of container.secrets ?? [])
      environment.push({
        name: secret.name,
        value: await readReference(deps, authorize, secret.valueFrom),
      });
    let registryCredential: ContainerSecrets["registryCredential"];
    if (container.repositoryCredentials !== undefined) {
      const raw = await readReference(
        deps,
        authorize,
        container.repositoryCredentials.credentialsParameter,
        true,
      );
      registryCredential = registryCredentialOf(raw);
    }
    resolved.push({
      name: container.name,
      environment,
      ...(registryCredential ? { registryCredential } : {}),
    });
  }
  // Then the registry login, for the images no repositoryCredentials cover.
  const ownLogin = await executionRoleLogin(deps, authorize, roleArn, assignment);
  const out: ContainerSecrets[] = [];
  for (const [index, entry] of resolved.entries()) {
    const image = assignment.containers[index]?.image ?? "";
    const registryCredential = entry.registryCredential ?? ownLogin(image);
    if (entry.environment.length > 0 || registryCredential !== undefined)
      out.push({ ...entry, ...(registryCredential ? { registryCredential } : {}) });
  }
  return out;
}

/**
 * The execution role's login to Berth's registries, as the ECS agent gets ECR's: it asks
 * ecr:GetAuthorizationToken as the role (ECS's failure text when refused), then pulls with a
 * session of the role, so the registry itself answers BatchGetImage and GetDownloadUrlForLayer
 * for the role. Nothing when no container's image is in Berth's registries, or without a role.
 */
async function executionRoleLogin(
  deps: TaskSecretsDeps,
  check: ExecutionRoleCheck,
  roleArn: string | undefined,
  assignment: TaskAssignment,
): Promise<(image: string) => RegistryLogin | undefined> {
  const hosts = deps.registryHosts?.() ?? [];
  const isOwn = (image: string): boolean => hosts.some((host) => image.startsWith(`${host}/`));
  if (
    roleArn === undefined ||
    roleArn === "" ||
    deps.registryAuth === undefined ||
    !assignment.containers.some((c) => c.repositoryCredentials === undefined && isOwn(c.image))
  )
    return () => undefined;
  let login: RegistryLogin;
  try {
    await check("ecr:GetAuthorizationToken", "*");
    login = await deps.registryAuth(roleArn, assignment.taskId);
  } catch (error) {
    // The ECS agent (aws-sdk-go v1) also appends "status code: 400, request id: ..." here.
    const why =
      error instanceof BerthError
        ? `${error.code}: ${error.message}`
        : "an internal error occurred";
    throw failure(
      `unable to retrieve ecr registry auth: service call has been retried 3 time(s): ${why}`,
      error,
    );
  }
  return (image) => (isOwn(image) ? login : undefined);
}

async function readReference(
  deps: TaskSecretsDeps,
  check: ExecutionRoleCheck,
  valueFrom: string,
  secretByName = false,
): Promise<string> {
  const reference: SecretReference =
    secretByName && !valueFrom.startsWith("arn:")
      ? { kind: "secret", secretId: valueFrom }
      : parseValueFrom(valueFrom, deps.identity);
  if (reference.kind === "parameter") {
    try {
      const parameter = await readParameterValue(
        deps.store,
        deps.sealer,
        deps.identity,
        reference.name,
      );
      await check("ssm:GetParameters", parameter.arn);
      return parameter.value;
    } catch (error) {
      if (error instanceof BerthError && error.code === "ParameterNotFound")
        throw failure(
          `unable to retrieve secrets from ssm: invalid ssm parameters: ${reference.name}`,
          error,
        );
      throw failure(
        `unable to retrieve secrets from ssm: service call has been retried 1 time(s): ${describe(error, "GetParameters")}`,
        error,
      );
    }
  }
  try {
    const read = await readSecretValue(
      deps.store,
      deps.sealer,
      {
        SecretId: reference.secretId,
        ...(reference.versionId ? { VersionId: reference.versionId } : {}),
        ...(reference.versionStage ? { VersionStage: reference.versionStage } : {}),
      },
      deps.now(),
    );
    await check("secretsmanager:GetSecretValue", read.ARN);
    const text =
      read.value.SecretString ??
      (typeof read.value.SecretBinary === "string" ? read.value.SecretBinary : "");
    if (reference.jsonKey === undefined) return text;
    return jsonKeyOf(text, reference.jsonKey, reference.secretId);
  } catch (error) {
    if (error instanceof BerthError && error.code === "SecretJsonKey") throw error;
    throw failure(
      `unable to retrieve secret from asm: service call has been retried 1 time(s): failed to fetch secret ${reference.secretId} from secrets manager: ${describe(error, "GetSecretValue")}`,
      error,
    );
  }
}

function jsonKeyOf(text: string, key: string, secretId: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw failure(
      `unable to unmarshal secret value of secret ${secretId}: invalid character in JSON`,
      error,
      "SecretJsonKey",
    );
  }
  const value =
    parsed !== null && typeof parsed === "object"
      ? (parsed as Record<string, unknown>)[key]
      : undefined;
  if (value === undefined)
    throw failure(
      `retrieved secret from Secrets Manager did not contain json key ${key}`,
      undefined,
      "SecretJsonKey",
    );
  return typeof value === "string" ? value : JSON.stringify(value);
}

function registryCredentialOf(raw: string): { username: string; password: string } {
  try {
    const parsed = JSON.parse(raw) as { username?: unknown; password?: unknown };
    if (typeof parsed.username === "string" && typeof parsed.password === "string")
      return { username: parsed.username, password: parsed.password };
  } catch {
    // the message below
  }
  throw failure("registry credentials must be a JSON object with username and password", undefined);
}

/** The AWS error a read met, as the ECS agent quotes it: the operation, the code, the message. */
function describe(error: unknown, operation: string): string {
  if (error instanceof BerthError && error.fault === "client")
    return `operation error ${operation === "GetParameters" ? "SSM" : "Secrets Manager"}: ${operation}, https response error StatusCode: 400, api error ${error.code}: ${error.message}`;
  return "an internal error occurred";
}

const failure = (why: string, cause: unknown, code = "SecretsUnavailable"): BerthError =>
  new BerthError(code, `execution resource retrieval failed: ${why}`, { cause });
