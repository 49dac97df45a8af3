/**
 * AWS Systems Manager's Parameter Store (`AmazonSSM`, JSON 1.1, signing name `ssm`): the
 * parameter actions only. Every version's value is sealed at rest under the data dir's master
 * key (core/sealed-values.ts), SecureString or not. `readParameterValue` is the read a task's
 * `secrets` take.
 */
import type { SSM } from "@aws-sdk/client-ssm";
import {
  actionTable,
  loadServiceModel,
  resources,
  type AwsJsonService,
  type ResourceResolver,
} from "../../aws/index.js";
import type { Identity, ValueSealer } from "../../core/index.js";
import type { Store } from "../../store/index.js";
import { parameterHandlers } from "./parameters.js";
import { openParameter, parameterArn, parameterName, selectVersion } from "./records.js";
import { tagHandlers } from "./tags.js";

export function createSsmService({
  store,
  sealer,
}: {
  store: Store;
  sealer: ValueSealer;
}): AwsJsonService {
  const parameters = parameterHandlers(store, sealer);
  const tags = tagHandlers(store);
  const service: AwsJsonService = {
    targetPrefix: "AmazonSSM",
    signingName: "ssm",
    model: loadServiceModel("ssm"),
    validationErrorCode: "ValidationException",
    actions: actionTable<SSM>(parameters, tags),
  };
  return { ...service, resources: parameterResources(Object.keys(service.actions)) };
}

/**
 * For IAM, an action acts on each parameter it names (Name, Names, ResourceId), by ARN;
 * GetParametersByPath on the path's ARN, as AWS evaluates it; DescribeParameters on `*`.
 */
function parameterResources(actions: string[]): Record<string, ResourceResolver> {
  const resolver = resources<{
    Name?: string;
    Names?: string[];
    Path?: string;
    ResourceId?: string;
  }>((input, ctx) => {
    const names = [
      ...(input.Name === undefined ? [] : [input.Name]),
      ...(input.Names ?? []),
      ...(input.ResourceId === undefined ? [] : [input.ResourceId]),
      ...(input.Path === undefined ? [] : [input.Path.replace(/(.)\/$/, "$1")]),
    ];
    return names.map((given) => {
      const plain = given.startsWith("arn:") ? given : given.replace(/:[^:/]+$/, "");
      try {
        return { arn: parameterArn(ctx.identity, parameterName(ctx.identity, plain)) };
      } catch {
        return { arn: plain };
      }
    });
  });
  return Object.fromEntries(actions.map((name) => [name, resolver]));
}

/** A parameter's value as a task reads it: `NAME`, an ARN, or with `:VERSION`; decrypted. */
export async function readParameterValue(
  store: Store,
  sealer: ValueSealer,
  identity: Identity,
  selector: string,
): Promise<{ name: string; arn: string; value: string }> {
  const { row } = await selectVersion(store, identity, selector, true);
  return {
    name: row.name,
    arn: parameterArn(identity, row.name),
    value: openParameter(sealer, row),
  };
}
