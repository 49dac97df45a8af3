/**
 * Parameter Store: PutParameter (String, StringList, SecureString; Overwrite makes a new
 * version), GetParameter(s) with WithDecryption, GetParametersByPath, DescribeParameters,
 * DeleteParameter(s) and GetParameterHistory.
 */
import type * as ssm from "@aws-sdk/client-ssm";
import { AwsError, pageFrom, tokenOffset, type Handlers } from "../../aws/index.js";
import type { Identity, ValueSealer } from "../../core/index.js";
import {
  dropTags,
  fromKeyValue,
  isUniqueViolation,
  putTags,
  type Store,
} from "../../store/index.js";
import {
  invalidFilterKey,
  invalidFilterOption,
  parameterAlreadyExists,
  parameterNotFound,
  patternMismatch,
  validation,
} from "./errors.js";
import {
  allCurrent,
  checkName,
  currentVersion,
  openParameter,
  parameterArn,
  parameterName,
  sealParameter,
  selectVersion,
  type VersionRow,
} from "./records.js";

const STANDARD_MAX_VALUE = 4096;
const ADVANCED_MAX_VALUE = 8192;

/** A parameter as Get* answer it; a SecureString stays sealed unless decryption is asked. */
function toParameter(
  identity: Identity,
  sealer: ValueSealer,
  row: VersionRow,
  decrypt: boolean,
  selector?: string,
): ssm.Parameter {
  return {
    Name: row.name,
    Type: row.type as ssm.ParameterType,
    // Without decryption AWS answers a SecureString's KMS ciphertext; Berth its sealed form.
    Value: row.type === "SecureString" && !decrypt ? row.sealed : openParameter(sealer, row),
    Version: row.version,
    ...(selector === undefined ? {} : { Selector: selector }),
    LastModifiedDate: new Date(row.modified_at),
    ARN: parameterArn(identity, row.name),
    DataType: row.data_type,
  };
}

function toMetadata(row: VersionRow): ssm.ParameterMetadata {
  return {
    Name: row.name,
    Type: row.type as ssm.ParameterType,
    ...(row.key_id === null ? {} : { KeyId: row.key_id }),
    LastModifiedDate: new Date(row.modified_at),
    LastModifiedUser: row.modified_by,
    ...(row.description === null ? {} : { Description: row.description }),
    ...(row.allowed_pattern === null ? {} : { AllowedPattern: row.allowed_pattern }),
    Version: row.version,
    Tier: row.tier as ssm.ParameterTier,
    Policies: [],
    DataType: row.data_type,
  };
}

/** One page of `items` from the token's offset (SSM's tokens are opaque as everyone's). */
function pageOf<T>(
  items: T[],
  token: string | undefined,
  max: number,
): { items: T[]; NextToken?: string } {
  return pageFrom(items, tokenOffset(token, "InvalidNextToken"), max, "NextToken");
}

export function parameterHandlers(store: Store, sealer: ValueSealer) {
  const deleteOne = async (name: string): Promise<boolean> =>
    store.transaction().execute(async (trx) => {
      const row = await trx
        .selectFrom("ssm_parameters")
        .selectAll()
        .where("name", "=", name)
        .executeTakeFirst();
      if (row === undefined) return false;
      await trx.deleteFrom("ssm_parameter_versions").where("name", "=", name).execute();
      await trx.deleteFrom("ssm_parameters").where("name", "=", name).execute();
      await dropTags(trx, [row.arn]);
      return true;
    });

  return {
    putParameter: async (input, ctx) => {
      const name = parameterName(ctx.identity, input.Name ?? "");
      checkName(name);
      const value = input.Value ?? "";
      const tier = input.Tier === "Advanced" ? "Advanced" : "Standard";
      // Intelligent-Tiering picks Standard while the value fits it, as AWS does.
      if (value.length > (tier === "Advanced" ? ADVANCED_MAX_VALUE : STANDARD_MAX_VALUE))
        throw validation(
          tier === "Advanced"
            ? `Advanced tier parameters support a maximum parameter value of ${ADVANCED_MAX_VALUE} characters.`
            : `Standard tier parameters support a maximum parameter value of ${STANDARD_MAX_VALUE} characters. To create a larger parameter value, upgrade the parameter to use the advanced-parameter tier. For more information, see https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-advanced-parameters.html`,
        );
      if (value === "")
        throw validation(
          "1 validation error detected: Value '' at 'value' failed to satisfy constraint: Member must have length greater than or equal to 1.",
        );
      if (input.AllowedPattern !== undefined) {
        let pattern: RegExp;
        try {
          pattern = new RegExp(input.AllowedPattern);
        } catch {
          throw new AwsError(
            "InvalidAllowedPatternException",
            "The parameter value does not match the allowed pattern.",
          );
        }
        if (!pattern.test(value)) throw patternMismatch(input.AllowedPattern);
      }
      if (input.KeyId !== undefined && input.Type !== "SecureString")
        throw validation("KeyId is required for SecureString type parameter only.");
      if ((input.Tags ?? []).length > 0 && input.Overwrite === true)
        throw validation(
          "Invalid request: tags and overwrite can't be used together. To create a parameter with tags, please remove overwrite flag. To update tags for an existing parameter, please use AddTagsToResource or RemoveTagsFromResource.",
        );
      const at = ctx.clock.now().getTime();
      const arn = parameterArn(ctx.identity, name);
      try {
        return await store.transaction().execute(async (trx) => {
          const current = await currentVersion(trx, name);
          if (current !== undefined && input.Overwrite !== true) throw parameterAlreadyExists();
          const type = input.Type ?? current?.type;
          if (type === undefined)
            throw validation("A parameter type is required when you create a parameter.");
          const version = (current?.version ?? 0) + 1;
          await trx
            .insertInto("ssm_parameter_versions")
            .values({
              name,
              version,
              type,
              sealed: sealParameter(sealer, name, version, value),
              description: input.Description ?? current?.description ?? null,
              allowed_pattern: input.AllowedPattern ?? current?.allowed_pattern ?? null,
              key_id:
                type === "SecureString"
                  ? (input.KeyId ?? current?.key_id ?? "alias/aws/ssm")
                  : null,
              tier,
              data_type: input.DataType ?? current?.data_type ?? "text",
              labels: "[]",
              modified_at: at,
              modified_by: ctx.principal.arn,
            })
            .execute();
          if (current === undefined)
            await trx.insertInto("ssm_parameters").values({ name, arn, version }).execute();
          else
            await trx
              .updateTable("ssm_parameters")
              .set({ version })
              .where("name", "=", name)
              .execute();
          await putTags(trx, arn, fromKeyValue(input.Tags ?? []));
          return { Version: version, Tier: tier };
        });
      } catch (error) {
        if (isUniqueViolation(error)) throw parameterAlreadyExists();
        throw error;
      }
    },

    getParameter: async (input, ctx) => {
      const { row, selector } = await selectVersion(store, ctx.identity, input.Name ?? "");
      return {
        Parameter: toParameter(ctx.identity, sealer, row, input.WithDecryption === true, selector),
      };
    },

    getParameters: async (input, ctx) => {
      const found: ssm.Parameter[] = [];
      const invalid: string[] = [];
      for (const name of new Set(input.Names ?? [])) {
        try {
          const { row, selector } = await selectVersion(store, ctx.identity, name);
          found.push(
            toParameter(ctx.identity, sealer, row, input.WithDecryption === true, selector),
          );
        } catch (error) {
          if (!(error instanceof Error) || !("code" in error)) throw error;
          if (error.code !== "ParameterNotFound" && error.code !== "ParameterVersionNotFound")
            throw error;
          invalid.push(name);
        }
      }
      return { Parameters: found, InvalidParameters: invalid };
    },

    getParametersByPath: async (input, ctx) => {
      const path = input.Path ?? "";
      if (!path.startsWith("/"))
        throw validation(
          'The parameter doesn\'t meet the parameter name requirements. The parameter name must begin with a forward slash "/". It can\'t be prefixed with "aws" or "ssm" (case-insensitive). It must use only letters, numbers, or the following symbols: . (period), - (hyphen), _ (underscore). Special characters are not allowed. All sub-paths, if specified, must use the forward slash symbol "/". Valid example: /get/parameters2-/by1./path0_.',
        );
      const prefix = path.endsWith("/") ? path : `${path}/`;
      const rows = (await allCurrent(store)).filter(
        (row) =>
          row.name.startsWith(prefix) &&
          (input.Recursive === true || !row.name.slice(prefix.length).includes("/")) &&
          (input.ParameterFilters ?? []).every((f) => matchesFilter(row, f)),
      );
      const { items, NextToken } = pageOf(rows, input.NextToken, input.MaxResults ?? 10);
      return {
        Parameters: items.map((row) =>
          toParameter(ctx.identity, sealer, row, input.WithDecryption === true),
        ),
        ...(NextToken === undefined ? {} : { NextToken }),
      };
    },

    describeParameters: async (input) => {
      const filters: ssm.ParameterStringFilter[] = [
        ...(input.Filters ?? []).map((f) => ({ Key: f.Key, Option: "Equals", Values: f.Values })),
        ...(input.ParameterFilters ?? []),
      ];
      const tagged = await tagIndex(store);
      const rows = (await allCurrent(store)).filter((row) =>
        filters.every((f) => matchesFilter(row, f, tagged.get(row.name))),
      );
      const { items, NextToken } = pageOf(rows, input.NextToken, input.MaxResults ?? 50);
      return {
        Parameters: items.map(toMetadata),
        ...(NextToken === undefined ? {} : { NextToken }),
      };
    },

    deleteParameter: async (input, ctx) => {
      const name = parameterName(ctx.identity, input.Name ?? "");
      if (!(await deleteOne(name))) throw parameterNotFound(name);
      return {};
    },

    deleteParameters: async (input, ctx) => {
      const deleted: string[] = [];
      const invalid: string[] = [];
      for (const given of input.Names ?? []) {
        const name = parameterName(ctx.identity, given);
        ((await deleteOne(name)) ? deleted : invalid).push(given);
      }
      return { DeletedParameters: deleted, InvalidParameters: invalid };
    },

    getParameterHistory: async (input, ctx) => {
      const name = parameterName(ctx.identity, input.Name ?? "");
      const rows = await store
        .selectFrom("ssm_parameter_versions")
        .selectAll()
        .where("name", "=", name)
        .orderBy("version")
        .execute();
      if (rows.length === 0) throw parameterNotFound(name);
      const { items, NextToken } = pageOf(rows, input.NextToken, input.MaxResults ?? 50);
      return {
        Parameters: items.map((row) => ({
          ...toMetadata(row),
          Value:
            row.type === "SecureString" && input.WithDecryption !== true
              ? row.sealed
              : openParameter(sealer, row),
          Labels: JSON.parse(row.labels) as string[],
        })),
        ...(NextToken === undefined ? {} : { NextToken }),
      };
    },
  } satisfies Handlers<ssm.SSM>;
}

async function tagIndex(store: Store): Promise<Map<string, Record<string, string>>> {
  const rows = await store
    .selectFrom("tags")
    .innerJoin("ssm_parameters", "ssm_parameters.arn", "tags.resource_arn")
    .select(["ssm_parameters.name", "tags.key", "tags.value"])
    .execute();
  const index = new Map<string, Record<string, string>>();
  for (const row of rows) index.set(row.name, { ...index.get(row.name), [row.key]: row.value });
  return index;
}

/** DescribeParameters' and GetParametersByPath's ParameterFilters. */
function matchesFilter(
  row: VersionRow,
  filter: ssm.ParameterStringFilter,
  tags: Record<string, string> = {},
): boolean {
  const key = filter.Key ?? "";
  const option = filter.Option ?? "Equals";
  const values = filter.Values ?? [];
  const field = (): string | undefined => {
    switch (key) {
      case "Name":
        return row.name;
      case "Type":
        return row.type;
      case "KeyId":
        return row.key_id ?? undefined;
      case "Tier":
        return row.tier;
      case "DataType":
        return row.data_type;
      default:
        return undefined;
    }
  };
  if (key === "Path") {
    if (option !== "Recursive" && option !== "OneLevel")
      throw invalidFilterOption(
        "The following filter option is not valid: " +
          option +
          ". Valid options include: [Recursive, OneLevel].",
      );
    return values.some((path) => {
      const prefix = path.endsWith("/") ? path : `${path}/`;
      return (
        row.name.startsWith(prefix) &&
        (option === "Recursive" || !row.name.slice(prefix.length).includes("/"))
      );
    });
  }
  if (key.startsWith("tag:")) {
    const tag = tags[key.slice(4)];
    return tag !== undefined && (values.length === 0 || values.includes(tag));
  }
  const value = field();
  if (!["Name", "Type", "KeyId", "Tier", "DataType"].includes(key)) throw invalidFilterKey(key);
  if (value === undefined) return false;
  const strip = (s: string): string => (key === "Name" ? s.replace(/^\//, "") : s);
  switch (option) {
    case "Equals":
      return values.some((v) => strip(v) === strip(value));
    case "BeginsWith":
      return values.some((v) => strip(value).startsWith(strip(v)));
    case "Contains":
      return values.some((v) => value.includes(v));
    default:
      throw invalidFilterOption(
        `The following filter option is not valid: ${option}. Valid options include: [BeginsWith, Equals, Contains].`,
      );
  }
}
