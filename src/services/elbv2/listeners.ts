/**
 * Listeners: CreateListener (HTTP, a default action), DescribeListeners, DeleteListener. Each
 * listener has its default rule, as ELB shows it in DescribeRules. The port is bound on the
 * host before the listener is promised.
 */
import type {
  ElasticLoadBalancingV2,
  Listener,
  Rule,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { AwsError, type Handlers } from "../../aws/index.js";
import { dropTags, type Store } from "../../store/index.js";
import { checkActions } from "./actions.js";
import {
  duplicateListener,
  invalidConfiguration,
  listenerNotFound,
  validationError,
} from "./errors.js";
import type { ElbDataPlane } from "./plane.js";
import {
  DEFAULT_RULE_PRIORITY,
  elbPage,
  listenerArn,
  readListener,
  requireLoadBalancer,
  ruleArn,
} from "./resources.js";
import { writeTags } from "./tags.js";

/** ELB's quota of listeners per application load balancer. */
const MAX_LISTENERS = 50;

/** Binds a listener's port on the host, or says why it cannot. */
export async function reserveListenerPort(plane: ElbDataPlane, port: number): Promise<void> {
  try {
    await plane.reservePort(port);
  } catch (error) {
    // On AWS every load balancer has its own addresses; Berth's share the host's.
    throw invalidConfiguration(
      `Port ${port} cannot be listened on at this host: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

export function listenerHandlers(store: Store, plane: ElbDataPlane) {
  return {
    createListener: async (input, ctx) => {
      const lbArn = input.LoadBalancerArn ?? "";
      await requireLoadBalancer(store, lbArn);
      // An application load balancer's listener must name its protocol (ELB's text).
      if (input.Protocol === undefined)
        throw validationError("A listener protocol must be specified");
      const protocol = input.Protocol;
      // HTTPS listeners need certificates (ACM); Berth's listeners speak plain HTTP.
      if (protocol !== "HTTP")
        throw new AwsError(
          "UnsupportedProtocol",
          `Berth listeners use the HTTP protocol, not '${protocol}'`,
        );
      const port = input.Port;
      if (port === undefined) throw validationError("A listener port must be specified");
      const listeners = await store
        .selectFrom("elb_listeners")
        .select(["port"])
        .where("load_balancer_arn", "=", lbArn)
        .execute();
      if (listeners.some((l) => l.port === port)) throw duplicateListener(lbArn);
      if (listeners.length >= MAX_LISTENERS) throw new AwsError("TooManyListeners");
      const actions = await checkActions(store, input.DefaultActions ?? [], lbArn);
      await reserveListenerPort(plane, port);
      const arn = listenerArn(lbArn);
      const listener: Listener = {
        ListenerArn: arn,
        LoadBalancerArn: lbArn,
        Port: port,
        Protocol: protocol,
        DefaultActions: actions,
      };
      const rule: Rule = {
        RuleArn: ruleArn(arn),
        Priority: "default",
        Conditions: [],
        Actions: actions,
        IsDefault: true,
      };
      await store.transaction().execute(async (trx) => {
        await trx
          .insertInto("elb_listeners")
          .values({
            arn,
            load_balancer_arn: lbArn,
            port,
            document: JSON.stringify(listener),
            created_at: ctx.clock.now().getTime(),
          })
          .execute();
        await trx
          .insertInto("elb_rules")
          .values({
            arn: rule.RuleArn ?? "",
            listener_arn: arn,
            priority: DEFAULT_RULE_PRIORITY,
            document: JSON.stringify(rule),
          })
          .execute();
      });
      await writeTags(store, arn, input.Tags);
      plane.changed();
      return { Listeners: [listener] };
    },

    describeListeners: async (input) => {
      const arns = input.ListenerArns ?? [];
      if (arns.length === 0 && input.LoadBalancerArn === undefined)
        throw validationError("You must specify either listener ARNs or a load balancer ARN");
      let query = store.selectFrom("elb_listeners").selectAll().orderBy("created_at");
      if (arns.length > 0) query = query.where("arn", "in", arns);
      if (input.LoadBalancerArn !== undefined) {
        await requireLoadBalancer(store, input.LoadBalancerArn);
        query = query.where("load_balancer_arn", "=", input.LoadBalancerArn);
      }
      const rows = await query.execute();
      if (rows.length < new Set(arns).size) throw listenerNotFound();
      const { items, ...next } = elbPage(rows.map(readListener), input.Marker, input.PageSize);
      return { Listeners: items, ...next };
    },

    deleteListener: async (input) => {
      const arn = input.ListenerArn ?? "";
      const removed = await store.transaction().execute(async (trx) => {
        const rules = await trx
          .selectFrom("elb_rules")
          .select("arn")
          .where("listener_arn", "=", arn)
          .execute();
        const result = await trx
          .deleteFrom("elb_listeners")
          .where("arn", "=", arn)
          .executeTakeFirst();
        if (Number(result.numDeletedRows) === 0) return undefined;
        await trx.deleteFrom("elb_rules").where("listener_arn", "=", arn).execute();
        return [arn, ...rules.map((r) => r.arn)];
      });
      if (removed === undefined) throw listenerNotFound();
      await dropTags(store, removed);
      plane.changed();
      return {};
    },
  } satisfies Handlers<ElasticLoadBalancingV2>;
}
