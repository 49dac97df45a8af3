/**
 * Repository policies and the scanning setting: kept and returned as ECR would. Berth does not
 * enforce repository policies (ECR evaluates them against IAM principals; Berth has one account
 * and one key, so there is no other principal to allow or deny).
 */
import type * as ecr from "@aws-sdk/client-ecr";
import { AwsError, type Handlers } from "../../aws/index.js";
import { findRepository, type EcrDependencies } from "./context.js";
import { invalidParameter } from "./errors.js";

export function policyHandlers(deps: EcrDependencies) {
  const registryId = deps.registry.registryId;
  const notFound = (name: string): AwsError =>
    new AwsError(
      "RepositoryPolicyNotFoundException",
      `Repository policy does not exist for the repository with name '${name}' in the registry with id '${registryId}'`,
    );
  return {
    setRepositoryPolicy: async (input) => {
      const name = input.repositoryName ?? "";
      const repo = await findRepository(deps, name, input.registryId);
      const text = input.policyText ?? "";
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      // Every statement names who (Principal) may do what (Action), as IAM's policy grammar for
      // a resource policy requires; ECR refuses one without (the text is the one it gives for
      // any invalid policy).
      const statements = (parsed as { Statement?: unknown } | null)?.Statement;
      const list = Array.isArray(statements) ? statements : [statements];
      const complete = list.every(
        (s) =>
          s !== null &&
          typeof s === "object" &&
          ("Principal" in s || "NotPrincipal" in s) &&
          ("Action" in s || "NotAction" in s),
      );
      if (
        parsed === null ||
        typeof parsed !== "object" ||
        !("Statement" in parsed) ||
        statements === undefined ||
        !complete
      )
        throw invalidParameter(
          "Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Invalid repository policy provided'",
        );
      await deps.registry.updateSettings(name, { ...repo.settings, repositoryPolicy: text });
      return { registryId, repositoryName: name, policyText: text };
    },

    getRepositoryPolicy: async (input) => {
      const name = input.repositoryName ?? "";
      const repo = await findRepository(deps, name, input.registryId);
      const text = repo.settings.repositoryPolicy;
      if (text === undefined) throw notFound(name);
      return { registryId, repositoryName: name, policyText: text };
    },

    deleteRepositoryPolicy: async (input) => {
      const name = input.repositoryName ?? "";
      const repo = await findRepository(deps, name, input.registryId);
      const text = repo.settings.repositoryPolicy;
      if (text === undefined) throw notFound(name);
      await deps.registry.updateSettings(name, { ...repo.settings, repositoryPolicy: undefined });
      return { registryId, repositoryName: name, policyText: text };
    },

    putImageScanningConfiguration: async (input) => {
      const name = input.repositoryName ?? "";
      const repo = await findRepository(deps, name, input.registryId);
      // ECR scans on push when asked; Berth keeps the setting but has no scanner.
      const scanOnPush = input.imageScanningConfiguration?.scanOnPush ?? false;
      await deps.registry.updateSettings(name, {
        ...repo.settings,
        imageScanningConfiguration: { scanOnPush },
      });
      return { registryId, repositoryName: name, imageScanningConfiguration: { scanOnPush } };
    },
  } satisfies Handlers<ecr.ECR>;
}
