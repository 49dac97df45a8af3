/**
 * AWS Secrets Manager (`secretsmanager`, JSON 1.1, signing name `secretsmanager`): secrets with
 * versions and staging labels, values sealed at rest under the data dir's master key
 * (core/sealed-values.ts). `readSecretValue` is the read a task's `secrets` take.
 */
import type { SecretsManager } from "@aws-sdk/client-secrets-manager";
import {
  actionTable,
  loadServiceModel,
  resources,
  type AwsJsonService,
  type ResourceResolver,
} from "../../aws/index.js";
import { arn, type ValueSealer } from "../../core/index.js";
import type { Store } from "../../store/index.js";
import { findSecret } from "./records.js";
import { secretHandlers } from "./secrets.js";
import { valueHandlers } from "./values.js";

export { readSecretValue } from "./values.js";

export function createSecretsManagerService({
  store,
  sealer,
}: {
  store: Store;
  sealer: ValueSealer;
}): AwsJsonService {
  const secrets = secretHandlers(store, sealer);
  const values = valueHandlers(store, sealer);
  const service: AwsJsonService = {
    targetPrefix: "secretsmanager",
    signingName: "secretsmanager",
    model: loadServiceModel("secretsmanager"),
    // Secrets Manager answers the model's constraint violations with InvalidParameterException.
    validationErrorCode: "InvalidParameterException",
    actions: actionTable<SecretsManager>(secrets, values),
  };
  return { ...service, resources: secretResources(store, Object.keys(service.actions)) };
}

/**
 * For IAM, an action acts on the secret its SecretId names, by its full ARN (suffix included,
 * as AWS evaluates it); CreateSecret and a secret not found yet on `secret:NAME`.
 */
function secretResources(store: Store, actions: string[]): Record<string, ResourceResolver> {
  const resolver = resources<{ SecretId?: string; Name?: string }>(async (input, ctx) => {
    const id = input.SecretId ?? input.Name;
    if (id === undefined) return [];
    const found = await findSecret(store, id);
    if (found !== undefined) return [{ arn: found.arn }];
    return [
      { arn: id.startsWith("arn:") ? id : arn(ctx.identity, "secretsmanager", `secret:${id}`) },
    ];
  });
  return Object.fromEntries(actions.map((name) => [name, resolver]));
}
