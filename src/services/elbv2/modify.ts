/**
 * What tools change in place on every refresh or blue/green switch: load balancer attributes
 * (Terraform's aws_lb reads them), ModifyListener, ModifyRule and SetRulePriorities.
 */
import type {
  ElasticLoadBalancingV2,
  Listener,
  Rule,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { AwsError, type Handlers } from "../../aws/index.js";
import type { ElbLoadBalancerTable, Store } from "../../store/index.js";
import { checkActions } from "./actions.js";
import { duplicateListener, invalidConfiguration, validationError } from "./errors.js";
import { reserveListenerPort } from "./listeners.js";
import type { ElbDataPlane } from "./plane.js";
import {
  attributeList,
  DEFAULT_RULE_PRIORITY,
  readListener,
  readRule,
  requireListener,
  requireLoadBalancer,
} from "./resources.js";
import { checkConditions, requireRule } from "./rules.js";

/**
 * An application load balancer's attributes as ELB defaults them. They are kept and returned;
 * Berth acts on deletion_protection.enabled only (its proxy has no idle timeout or logs to set).
 */
export const DEFAULT_LB_ATTRIBUTES: Readonly<Record<string, string>> = {
  "access_logs.s3.enabled": "false",
  "access_logs.s3.bucket": "",
  "access_logs.s3.prefix": "",
  "connection_logs.s3.enabled": "false",
  "connection_logs.s3.bucket": "",
  "connection_logs.s3.prefix": "",
  "client_keep_alive.seconds": "3600",
  "deletion_protection.enabled": "false",
  "idle_timeout.timeout_seconds": "60",
  "load_balancing.cross_zone.enabled": "true",
  "routing.http.desync_mitigation_mode": "defensive",
  "routing.http.drop_invalid_header_fields.enabled": "false",
  "routing.http.preserve_host_header.enabled": "false",
  "routing.http.x_amz_tls_version_and_cipher_suite.enabled": "false",
  "routing.http.xff_client_port.enabled": "false",
  "routing.http.xff_header_processing.mode": "append",
  "routing.http2.enabled": "true",
  "waf.fail_open.enabled": "false",
};

const BOOLEAN = (v: string) => v === "true" || v === "false";
const CHECKS: Record<string, (value: string) => boolean> = {
  "deletion_protection.enabled": BOOLEAN,
  "access_logs.s3.enabled": BOOLEAN,
  "routing.http2.enabled": BOOLEAN,
  "idle_timeout.timeout_seconds": (v) => /^\d+$/.test(v) && Number(v) >= 1 && Number(v) <= 4000,
  "client_keep_alive.seconds": (v) => /^\d+$/.test(v) && Number(v) >= 60 && Number(v) <= 604800,
  "routing.http.desync_mitigation_mode": (v) => ["monitor", "defensive", "strictest"].includes(v),
  "routing.http.xff_header_processing.mode": (v) => ["append", "preserve", "remove"].includes(v),
};

export function loadBalancerAttributes(row: ElbLoadBalancerTable): Record<string, string> {
  return {
    ...DEFAULT_LB_ATTRIBUTES,
    ...(row.attributes === null ? {} : (JSON.parse(row.attributes) as Record<string, string>)),
  };
}

export function modifyHandlers(store: Store, plane: ElbDataPlane) {
  return {
    describeLoadBalancerAttributes: async (input) => {
      const row = await requireLoadBalancer(store, input.LoadBalancerArn ?? "");
      return { Attributes: attributeList(loadBalancerAttributes(row)) };
    },

    modifyLoadBalancerAttributes: async (input) => {
      const row = await requireLoadBalancer(store, input.LoadBalancerArn ?? "");
      const attributes = loadBalancerAttributes(row);
      for (const { Key, Value } of input.Attributes ?? []) {
        const key = Key ?? "";
        const value = Value ?? "";
        // ELB's texts for these two refusals are not recorded; the codes are the model's.
        if (!Object.hasOwn(DEFAULT_LB_ATTRIBUTES, key))
          throw invalidConfiguration(`Load balancer attribute key '${key}' is not recognized`);
        const check = CHECKS[key];
        if (check !== undefined && !check(value))
          throw invalidConfiguration(
            `'${value}' is not a valid value for load balancer attribute '${key}'`,
          );
        attributes[key] = value;
      }
      await store
        .updateTable("elb_load_balancers")
        .set({ attributes: JSON.stringify(attributes) })
        .where("arn", "=", row.arn)
        .execute();
      return { Attributes: attributeList(attributes) };
    },

    modifyListener: async (input) => {
      const arn = input.ListenerArn ?? "";
      const row = await requireListener(store, arn);
      const listener: Listener = readListener(row);
      if (input.Protocol !== undefined && input.Protocol !== "HTTP")
        // HTTPS listeners need certificates (ACM); Berth's listeners speak plain HTTP.
        throw new AwsError(
          "UnsupportedProtocol",
          `Berth listeners use the HTTP protocol, not '${input.Protocol}'`,
        );
      const port = input.Port ?? row.port;
      if (port !== row.port) {
        const taken = await store
          .selectFrom("elb_listeners")
          .select("arn")
          .where("load_balancer_arn", "=", row.load_balancer_arn)
          .where("port", "=", port)
          .executeTakeFirst();
        if (taken !== undefined) throw duplicateListener(row.load_balancer_arn);
        await reserveListenerPort(plane, port);
      }
      const actions =
        input.DefaultActions === undefined
          ? listener.DefaultActions
          : await checkActions(store, input.DefaultActions, row.load_balancer_arn);
      const updated: Listener = { ...listener, Port: port, DefaultActions: actions };
      await store.transaction().execute(async (trx) => {
        await trx
          .updateTable("elb_listeners")
          .set({ port, document: JSON.stringify(updated) })
          .where("arn", "=", arn)
          .execute();
        if (input.DefaultActions === undefined) return;
        const rule = await trx
          .selectFrom("elb_rules")
          .selectAll()
          .where("listener_arn", "=", arn)
          .where("priority", "=", DEFAULT_RULE_PRIORITY)
          .executeTakeFirstOrThrow();
        await trx
          .updateTable("elb_rules")
          .set({ document: JSON.stringify({ ...readRule(rule), Actions: actions }) })
          .where("arn", "=", rule.arn)
          .execute();
      });
      plane.changed();
      return { Listeners: [updated] };
    },

    modifyRule: async (input) => {
      const arn = input.RuleArn ?? "";
      const row = await requireRule(store, arn);
      const rule: Rule = readRule(row);
      if (rule.IsDefault === true && input.Conditions !== undefined)
        throw new AwsError("OperationNotPermitted", "Default rule conditions cannot be modified");
      const listener = await store
        .selectFrom("elb_listeners")
        .select("load_balancer_arn")
        .where("arn", "=", row.listener_arn)
        .executeTakeFirstOrThrow();
      const updated: Rule = {
        ...rule,
        ...(input.Conditions === undefined
          ? {}
          : { Conditions: checkConditions(input.Conditions) }),
        ...(input.Actions === undefined
          ? {}
          : { Actions: await checkActions(store, input.Actions, listener.load_balancer_arn) }),
      };
      await store.transaction().execute(async (trx) => {
        await trx
          .updateTable("elb_rules")
          .set({ document: JSON.stringify(updated) })
          .where("arn", "=", arn)
          .execute();
        // The default rule's actions are the listener's default actions.
        if (rule.IsDefault === true && input.Actions !== undefined) {
          const l = await trx
            .selectFrom("elb_listeners")
            .selectAll()
            .where("arn", "=", row.listener_arn)
            .executeTakeFirstOrThrow();
          await trx
            .updateTable("elb_listeners")
            .set({
              document: JSON.stringify({ ...readListener(l), DefaultActions: updated.Actions }),
            })
            .where("arn", "=", l.arn)
            .execute();
        }
      });
      plane.changed();
      return { Rules: [updated] };
    },

    setRulePriorities: async (input) => {
      const wanted = input.RulePriorities ?? [];
      const rules = await store.transaction().execute(async (trx) => {
        const rows: Array<{ row: Awaited<ReturnType<typeof requireRule>>; priority: number }> = [];
        for (const { RuleArn, Priority } of wanted) {
          const row = await requireRule(trx, RuleArn ?? "");
          if (readRule(row).IsDefault === true)
            throw new AwsError(
              "OperationNotPermitted",
              "The priority of a default rule cannot be changed",
            );
          rows.push({ row, priority: Priority ?? 0 });
        }
        const listeners = new Set(rows.map((r) => r.row.listener_arn));
        if (listeners.size > 1) throw validationError("All rules must belong to the same listener");
        const moving = new Set(rows.map((r) => r.row.arn));
        const priorities = new Set<number>();
        for (const { priority } of rows) {
          if (priorities.has(priority))
            throw new AwsError("PriorityInUse", `Priority '${priority}' is currently in use`);
          priorities.add(priority);
        }
        const others = await trx
          .selectFrom("elb_rules")
          .select(["arn", "priority"])
          .where("listener_arn", "in", [...listeners])
          .execute();
        // A swap is allowed: only rules that keep their place can hold a priority.
        for (const other of others)
          if (!moving.has(other.arn) && priorities.has(other.priority))
            throw new AwsError("PriorityInUse", `Priority '${other.priority}' is currently in use`);
        // Out of the way first (priorities are unique per listener, so a swap needs a step).
        for (const [index, { row }] of rows.entries())
          await trx
            .updateTable("elb_rules")
            .set({ priority: -1 - index })
            .where("arn", "=", row.arn)
            .execute();
        const updated: Rule[] = [];
        for (const { row, priority } of rows) {
          const rule = { ...readRule(row), Priority: String(priority) };
          await trx
            .updateTable("elb_rules")
            .set({ priority, document: JSON.stringify(rule) })
            .where("arn", "=", row.arn)
            .execute();
          updated.push(rule);
        }
        return updated;
      });
      plane.changed();
      return { Rules: rules };
    },
  } satisfies Handlers<ElasticLoadBalancingV2>;
}
