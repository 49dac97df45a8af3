/** Scalable targets: RegisterScalableTarget, DescribeScalableTargets, DeregisterScalableTarget. */
import type {
  ApplicationAutoScaling,
  ScalableTarget,
} from "@aws-sdk/client-application-auto-scaling";
import { randomBytes } from "node:crypto";
import type { Handlers } from "../../aws/index.js";
import { arn } from "../../core/index.js";
import {
  findTarget,
  readTarget,
  resourceColumns,
  saveTarget,
  type StoredTarget,
} from "../../control/index.js";
import type { Store } from "../../store/index.js";
import { describeResource, objectNotFound, validation } from "./errors.js";
import { checkNamespace, pageOf, resourceOf } from "./scope.js";

/** The service-linked role Application Auto Scaling uses for ECS, as DescribeScalableTargets shows. */
const ecsRole = (accountId: string): string =>
  `arn:aws:iam::${accountId}:role/aws-service-role/ecs.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_ECSService`;

export function targetHandlers(store: Store) {
  return {
    registerScalableTarget: async (input, ctx) => {
      const resource = await resourceOf(store, input, true);
      const existing = await findTarget(store, resource);
      if (
        existing === undefined &&
        (input.MinCapacity === undefined || input.MaxCapacity === undefined)
      )
        // Our words: AWS refuses a new target without both bounds; its text is not recorded.
        throw validation(
          "MinCapacity and MaxCapacity are required to register a new scalable target.",
        );
      const target: ScalableTarget = existing?.stored.target ?? {
        ServiceNamespace: "ecs",
        ResourceId: resource.resourceId,
        ScalableDimension: "ecs:service:DesiredCount",
        MinCapacity: 0,
        MaxCapacity: 0,
        RoleARN: input.RoleARN ?? ecsRole(ctx.identity.accountId),
        CreationTime: ctx.clock.now(),
        SuspendedState: {
          DynamicScalingInSuspended: false,
          DynamicScalingOutSuspended: false,
          ScheduledScalingSuspended: false,
        },
      };
      if (input.MinCapacity !== undefined) target.MinCapacity = input.MinCapacity;
      if (input.MaxCapacity !== undefined) target.MaxCapacity = input.MaxCapacity;
      if ((target.MinCapacity ?? 0) > (target.MaxCapacity ?? 0))
        throw validation("Minimum capacity cannot be greater than maximum capacity");
      if (input.SuspendedState !== undefined)
        target.SuspendedState = { ...target.SuspendedState, ...input.SuspendedState };
      if (existing !== undefined) {
        await saveTarget(store, existing.arn, { ...existing.stored, target });
        return { ScalableTargetARN: existing.arn };
      }
      const targetArn = arn(
        ctx.identity,
        "application-autoscaling",
        `scalable-target/${randomBytes(18).toString("hex")}`,
      );
      const stored: StoredTarget = { target, extras: {} };
      await store
        .insertInto("scalable_targets")
        .values({
          ...resourceColumns(resource),
          arn: targetArn,
          document: JSON.stringify(stored),
          created_at: ctx.clock.now().getTime(),
        })
        .execute();
      return { ScalableTargetARN: targetArn };
    },

    describeScalableTargets: async (input) => {
      checkNamespace(input.ServiceNamespace, input.ScalableDimension);
      let query = store
        .selectFrom("scalable_targets")
        .select(["document", "arn"])
        .where("namespace", "=", input.ServiceNamespace ?? "")
        .orderBy("created_at")
        .orderBy("arn");
      if ((input.ResourceIds ?? []).length > 0)
        query = query.where("resource_id", "in", input.ResourceIds ?? []);
      const rows = await query.execute();
      const { items, ...next } = pageOf(rows, input);
      return {
        ScalableTargets: items.map((row) => ({
          ...readTarget(row.document).target,
          ScalableTargetARN: row.arn,
        })),
        ...next,
      };
    },

    deregisterScalableTarget: async (input) => {
      const resource = await resourceOf(store, input, false);
      const existing = await findTarget(store, resource);
      if (existing === undefined)
        throw objectNotFound(`No scalable target found for ${describeResource(resource)}`);
      // Deregistering a target deletes its scaling policies and scheduled actions, as AWS does.
      await store.transaction().execute(async (trx) => {
        for (const table of ["scaling_policies", "scheduled_actions", "scalable_targets"] as const)
          await trx
            .deleteFrom(table)
            .where("namespace", "=", resource.namespace)
            .where("resource_id", "=", resource.resourceId)
            .where("dimension", "=", resource.dimension)
            .execute();
      });
      return {};
    },
  } satisfies Handlers<ApplicationAutoScaling>;
}
