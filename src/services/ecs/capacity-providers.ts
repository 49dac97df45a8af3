/**
 * Fargate's two capacity providers, which every cluster has: FARGATE (on-demand) and
 * FARGATE_SPOT (cheaper, and may be taken back). A capacity provider strategy splits tasks
 * between them as ECS splits it: `base` tasks go first to the one provider that has a base,
 * the rest follow the weights.
 */
import type { ECS, CapacityProvider, CapacityProviderStrategyItem } from "@aws-sdk/client-ecs";
import type { Handlers } from "../../aws/index.js";
import { arn, type Identity } from "../../core/index.js";
import type { Store } from "../../store/index.js";
import { findActiveCluster } from "./clusters.js";
import { invalidParameter } from "./errors.js";

export const FARGATE_PROVIDERS = ["FARGATE", "FARGATE_SPOT"] as const;

function provider(identity: Identity, name: string): CapacityProvider {
  return {
    capacityProviderArn: arn(identity, "ecs", `capacity-provider/${name}`),
    name,
    status: "ACTIVE",
    tags: [],
  };
}

export function checkStrategy(strategy: CapacityProviderStrategyItem[]): void {
  if (strategy.length === 0) return;
  for (const item of strategy) {
    if (!FARGATE_PROVIDERS.includes(item.capacityProvider as (typeof FARGATE_PROVIDERS)[number]))
      throw invalidParameter(
        `The specified capacity provider ${item.capacityProvider ?? ""} is not associated with the cluster.`,
      );
  }
  if (strategy.filter((item) => (item.base ?? 0) > 0).length > 1)
    throw invalidParameter(
      "Only one capacity provider in a capacity provider strategy can have a base.",
    );
  if (!strategy.some((item) => (item.weight ?? 0) > 0))
    throw invalidParameter(
      "At least one capacity provider in a capacity provider strategy must have a weight greater than 0.",
    );
  if (new Set(strategy.map((item) => item.capacityProvider)).size !== strategy.length)
    throw invalidParameter(
      "A capacity provider can only appear once in a capacity provider strategy.",
    );
}

/**
 * The strategy a RunTask or CreateService uses: its own, else the cluster's default unless it
 * named a launch type (the two may not be given together), checked.
 */
export function resolveStrategy(
  input: { launchType?: string; capacityProviderStrategy?: CapacityProviderStrategyItem[] },
  clusterDocument: string,
): CapacityProviderStrategyItem[] {
  if (input.launchType !== undefined && (input.capacityProviderStrategy?.length ?? 0) > 0)
    throw invalidParameter(
      "Specifying both a launchType and capacityProviderStrategy is not supported.",
    );
  const defaults = (
    JSON.parse(clusterDocument) as {
      defaultCapacityProviderStrategy?: CapacityProviderStrategyItem[];
    }
  ).defaultCapacityProviderStrategy;
  const strategy =
    input.capacityProviderStrategy ?? (input.launchType === undefined ? (defaults ?? []) : []);
  checkStrategy(strategy);
  return strategy;
}

/**
 * The provider of each of `count` new tasks, given how many tasks each provider already holds
 * (a service's running tasks, say): fill the base first, then keep each provider's share of the
 * rest as close to its weight as can be.
 */
export function splitStrategy(
  strategy: CapacityProviderStrategyItem[],
  count: number,
  existing: ReadonlyMap<string, number> = new Map(),
): string[] {
  const counts = new Map(
    strategy.map((item) => [
      item.capacityProvider ?? "",
      existing.get(item.capacityProvider ?? "") ?? 0,
    ]),
  );
  const chosen: string[] = [];
  for (let i = 0; i < count; i++) {
    const based = strategy.find(
      (item) => (item.base ?? 0) > (counts.get(item.capacityProvider ?? "") ?? 0),
    );
    let pick = based?.capacityProvider;
    if (pick === undefined) {
      let best = Infinity;
      for (const item of strategy) {
        const weight = item.weight ?? 0;
        if (weight <= 0) continue;
        const name = item.capacityProvider ?? "";
        // Tasks beyond the base, per unit of weight, after this one is added.
        const share = ((counts.get(name) ?? 0) - (item.base ?? 0) + 1) / weight;
        if (share < best) {
          best = share;
          pick = name;
        }
      }
    }
    const name = pick ?? "FARGATE";
    counts.set(name, (counts.get(name) ?? 0) + 1);
    chosen.push(name);
  }
  return chosen;
}

export function capacityProviderHandlers(store: Store) {
  return {
    describeCapacityProviders: async (input, ctx) => {
      const wanted = input.capacityProviders ?? [...FARGATE_PROVIDERS];
      const names = wanted.map((name) => name.split("/").pop() ?? name);
      return {
        capacityProviders: names
          .filter((name) => FARGATE_PROVIDERS.includes(name as (typeof FARGATE_PROVIDERS)[number]))
          .map((name) => provider(ctx.identity, name)),
        failures: names
          .filter((name) => !FARGATE_PROVIDERS.includes(name as (typeof FARGATE_PROVIDERS)[number]))
          .map((name) => ({
            arn: arn(ctx.identity, "ecs", `capacity-provider/${name}`),
            reason: "MISSING",
          })),
      };
    },

    putClusterCapacityProviders: async (input, ctx) => {
      const cluster = await findActiveCluster(store, input.cluster);
      const providers = input.capacityProviders ?? [];
      for (const name of providers)
        if (!FARGATE_PROVIDERS.includes(name as (typeof FARGATE_PROVIDERS)[number]))
          // ECS also takes Auto Scaling group providers; Berth's hosts are Fargate-style only.
          throw invalidParameter(`The specified capacity provider ${name} does not exist.`);
      const strategy = input.defaultCapacityProviderStrategy ?? [];
      checkStrategy(strategy);
      for (const item of strategy)
        if (!providers.includes(item.capacityProvider ?? ""))
          throw invalidParameter(
            `The specified capacity provider strategy cannot contain a capacity provider that is not associated with the cluster.`,
          );
      const document = JSON.parse(cluster.document) as Record<string, unknown>;
      document.capacityProviders = providers;
      document.defaultCapacityProviderStrategy = strategy;
      await store
        .updateTable("clusters")
        .set({ document: JSON.stringify(document), updated_at: ctx.clock.now().getTime() })
        .where("name", "=", cluster.name)
        .execute();
      return {
        cluster: {
          clusterArn: cluster.arn,
          clusterName: cluster.name,
          status: cluster.status,
          capacityProviders: providers,
          defaultCapacityProviderStrategy: strategy,
        },
      };
    },
  } satisfies Handlers<ECS>;
}
