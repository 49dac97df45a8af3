/** DescribeScalingActivities: what the autoscaler did (or could not do) and why, newest first. */
import type { Handlers } from "../../aws/index.js";
import type { ApplicationAutoScaling } from "@aws-sdk/client-application-auto-scaling";
import { readActivity } from "../../control/index.js";
import type { Store } from "../../store/index.js";
import { checkNamespace, pageOf } from "./scope.js";

export function activityHandlers(store: Store) {
  return {
    describeScalingActivities: async (input) => {
      checkNamespace(input.ServiceNamespace, input.ScalableDimension);
      let query = store
        .selectFrom("scaling_activities")
        .select("document")
        .where("namespace", "=", input.ServiceNamespace ?? "")
        .orderBy("started_at", "desc")
        .orderBy("id");
      if (input.ResourceId !== undefined) query = query.where("resource_id", "=", input.ResourceId);
      // Not scaled activities (a max or min blocked an alarm) only when asked for, as in AWS.
      const activities = (await query.execute())
        .map((row) => readActivity(row.document))
        .filter(
          (a) => input.IncludeNotScaledActivities === true || a.NotScaledReasons === undefined,
        );
      const { items, ...next } = pageOf(activities, input);
      return { ScalingActivities: items, ...next };
    },
  } satisfies Handlers<ApplicationAutoScaling>;
}
