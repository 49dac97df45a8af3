/**
 * Parameters in the store: names and their rules, ARNs, every version sealed, the
 * `NAME:VERSION` selector.
 */
import type { Transaction } from "kysely";
import { arn, type Identity, type ValueSealer } from "../../core/index.js";
import type { Database, SsmParameterVersionTable, Store } from "../../store/index.js";
import { hierarchyTooDeep, parameterNotFound, validation, versionNotFound } from "./errors.js";

export type Db = Store | Transaction<Database>;
export type VersionRow = SsmParameterVersionTable;

/** `arn:aws:ssm:REGION:ACCOUNT:parameter/a/b` for `/a/b` and for `a`. */
export function parameterArn(identity: Identity, name: string): string {
  return arn(identity, "ssm", `parameter${name.startsWith("/") ? "" : "/"}${name}`);
}

/** A name as SSM accepts it: a full ARN of this account is taken for the name inside it. */
export function parameterName(identity: Identity, value: string): string {
  const prefix = arn(identity, "ssm", "parameter");
  if (!value.startsWith("arn:")) return value;
  if (!value.startsWith(`${prefix}/`)) throw validation(`Invalid parameter name: ${value}`);
  const rest = value.slice(prefix.length);
  // `parameter/a/b` names `/a/b`; `parameter/a` names `a`.
  return rest.slice(1).includes("/") ? rest : rest.slice(1);
}

/** PutParameter's rules for a new name (the model checks only its length). */
export function checkName(name: string): void {
  if (!/^[a-zA-Z0-9_.\-/]+$/.test(name))
    throw validation(
      'Parameter name: can\'t be prefixed with "aws" or "ssm" (case-insensitive). If formed as a path, it can consist of sub-paths divided by slash symbol; each sub-path can be formed as a mix of letters, numbers and the following 3 symbols .-_',
    );
  const first = name.replace(/^\//, "").split("/")[0] ?? "";
  if (/^(aws|ssm)/i.test(first))
    throw validation('Parameter name: can\'t be prefixed with "aws" or "ssm" (case-insensitive).');
  if (name.includes("/") && !name.startsWith("/"))
    throw validation("Parameter name must be a fully qualified name.");
  if (name.includes("//") || (name.length > 1 && name.endsWith("/")))
    throw validation("Parameter name must be a fully qualified name.");
  if (name.split("/").length - 1 > 15) throw hierarchyTooDeep();
}

export const sealContext = (name: string, version: number): string =>
  `ssm:parameter:${name}:${version}`;

export const sealParameter = (sealer: ValueSealer, name: string, version: number, value: string) =>
  sealer.seal(value, sealContext(name, version));

export const openParameter = (sealer: ValueSealer, row: VersionRow): string =>
  sealer.open(row.sealed, sealContext(row.name, row.version)).toString("utf8");

/** Parameters joined to their current version's row. */
const currentVersions = (db: Db) =>
  db
    .selectFrom("ssm_parameters")
    .innerJoin("ssm_parameter_versions", (join) =>
      join
        .onRef("ssm_parameter_versions.name", "=", "ssm_parameters.name")
        .onRef("ssm_parameter_versions.version", "=", "ssm_parameters.version"),
    )
    .selectAll("ssm_parameter_versions");

export async function currentVersion(db: Db, name: string): Promise<VersionRow | undefined> {
  return currentVersions(db).where("ssm_parameters.name", "=", name).executeTakeFirst();
}

/** Every parameter's current version, by name. */
export async function allCurrent(db: Db): Promise<VersionRow[]> {
  return currentVersions(db).orderBy("ssm_parameters.name").execute();
}

/**
 * What `NAME`, `NAME:VERSION` or `NAME:LABEL` selects; ParameterNotFound (with `message` or
 * AWS's bare one) when nothing is there.
 */
export async function selectVersion(
  db: Db,
  identity: Identity,
  selector: string,
  named = false,
): Promise<{ row: VersionRow; selector?: string }> {
  const colon = selector.startsWith("arn:")
    ? selector.indexOf(":", selector.indexOf(":parameter") + 1)
    : selector.lastIndexOf(":");
  const base = colon > 0 ? selector.slice(0, colon) : selector;
  const suffix = colon > 0 ? selector.slice(colon + 1) : undefined;
  const name = parameterName(identity, base);
  if (suffix === undefined) {
    const row = await currentVersion(db, name);
    if (row === undefined) throw parameterNotFound(named ? name : undefined);
    return { row };
  }
  const versions = await db
    .selectFrom("ssm_parameter_versions")
    .selectAll()
    .where("name", "=", name)
    .orderBy("version")
    .execute();
  if (versions.length === 0) throw parameterNotFound(named ? name : undefined);
  const row = /^\d+$/.test(suffix)
    ? versions.find((v) => v.version === Number(suffix))
    : versions.find((v) => (JSON.parse(v.labels) as string[]).includes(suffix));
  if (row === undefined) throw versionNotFound(name, suffix);
  return { row, selector: `:${suffix}` };
}
