/**
 * Amazon CloudWatch Logs (`Logs_20140328`, signing name `logs`): the table of actions Berth
 * answers, and the direct path container output takes into it.
 *
 * Events live in the store (`log_events`, ordered by timestamp then ingestion sequence, indexed
 * by group, stream, timestamp, sequence); every read pages through SQL, so memory does not grow
 * with what is stored. Retention is enforced: reads never return events past it, and
 * `startLogRetention` deletes them periodically.
 *
 * Shipping container output (the awslogs driver) — call, from server code:
 *
 *     await appendLogEvents(store, {
 *       group: "/ecs/web",                       // awslogs-group
 *       stream: `${prefix}/${container}/${taskId}`,
 *       createGroup: true,                       // awslogs-create-group
 *       events: [{ timestamp: Date.now(), message: "line", offset: 1234 }],
 *     });
 *
 * One call is one transaction: the stream (and, with `createGroup`, the group) is created if
 * missing, and lines are stored in the order given. `offset` is optional and makes shipping
 * exactly-once: give each line a number that grows along the source (its byte offset in the
 * container's log file, say); lines whose offset is not above the stream's last applied offset
 * are skipped, so resending a batch after a reconnect or a restart adds nothing (each call
 * answers the stream's last applied offset, `appendOffset`, to resume from). A line's
 * timestamp is raised to the stream's last one if the clock went back, so the stream's order is
 * the order lines were written; empty lines are dropped and lines over 256 KiB split, as
 * Docker's awslogs driver does. Without `createGroup` a missing group throws
 * ResourceNotFoundException, as the driver fails on AWS.
 */
import type { CloudWatchLogs } from "@aws-sdk/client-cloudwatch-logs";
import {
  actionTable,
  loadServiceModel,
  type AwsJsonService,
  resourcesByMember,
} from "../../aws/index.js";
import { arn } from "../../core/index.js";
import type { Store } from "../../store/index.js";
import { filterLogEventsHandler } from "./filter-log-events.js";
import { getLogEventsHandler } from "./get-log-events.js";
import { groupHandlers } from "./groups.js";
import { ingestHandlers } from "./ingest.js";
import { streamHandlers } from "./streams.js";
import { tagHandlers } from "./tags.js";

export { appendLogEvents } from "./ingest.js";
export { sweepExpiredLogEvents, startLogRetention } from "./retention.js";
export { compileFilterPattern } from "./filter-pattern.js";

export function createLogsService({ store }: { store: Store }): AwsJsonService {
  const groups = groupHandlers(store);
  const streams = streamHandlers(store);
  const ingest = ingestHandlers(store);
  const tags = tagHandlers(store);
  const service: AwsJsonService = {
    targetPrefix: "Logs_20140328",
    signingName: "logs",
    model: loadServiceModel("logs"),
    // Logs answers constraint violations with InvalidParameterException.
    validationErrorCode: "InvalidParameterException",
    actions: actionTable<CloudWatchLogs>(groups, streams, ingest, tags, {
      getLogEvents: getLogEventsHandler(store),
      filterLogEvents: filterLogEventsHandler(store),
    }),
  };
  // What each action acts on, for IAM: the resource its input names, else `*`.
  return {
    ...service,
    resources: resourcesByMember(
      Object.keys(service.actions),
      ["logGroupName", "logGroupIdentifier"],
      (name, ctx) =>
        name.startsWith("arn:") ? name : arn(ctx.identity, "logs", `log-group:${name}:*`),
    ),
  };
}
