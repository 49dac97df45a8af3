/** DescribeScalingActivities: what the autoscaler did and why, newest first. */
import type {
  DescribeScalingActivitiesRequest,
  DescribeScalingActivitiesResponse,
} from "@aws-sdk/client-application-auto-scaling";
import { readActivity } from "../../control/index.js";
import type { Store } from "../../store/index.js";
import { checkNamespace, pageOf } from "./scope.js";

export function activityHandlers(store: Store) {
  return {
    describeScalingActivities: async (
      input: DescribeScalingActivitiesRequest,
    ): Promise<DescribeScalingActivitiesResponse> => {
      checkNamespace(input.ServiceNamespace, input.ScalableDimension);
      let query = store
        .selectFrom("scaling_activities")
        .select("document")
        .where("namespace", "=", input.ServiceNamespace ?? "")
        .orderBy("started_at", "desc")
        .orderBy("id");
      if (input.ResourceId !== undefined) query = query.where("resource_id", "=", input.ResourceId);
      const { items, NextToken } = pageOf(await query.execute(), input.NextToken, input.MaxResults);
      return {
        ScalingActivities: items.map((row) => readActivity(row.document)),
        ...(NextToken === undefined ? {} : { NextToken }),
      };
    },
  };
}
