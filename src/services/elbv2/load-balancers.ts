/** CreateLoadBalancer, DescribeLoadBalancers and DeleteLoadBalancer (application only). */
import type {
  ElasticLoadBalancingV2,
  AvailabilityZone,
  CreateLoadBalancerInput,
  LoadBalancer,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { AwsError, type Handlers } from "../../aws/index.js";
import { dropTags, type Store } from "../../store/index.js";
import { loadBalancerNotFound, validationError } from "./errors.js";
import { loadBalancerAttributes } from "./modify.js";
import type { ElbDataPlane } from "./plane.js";
import { checkName, dnsName, elbPage, loadBalancerArn, readLoadBalancer } from "./resources.js";
import { writeTags } from "./tags.js";

/** ELB's default quota of load balancers per region. */
const MAX_LOAD_BALANCERS = 50;
/** The Route 53 zone of us-east-1's application load balancers; a fixed value suffices here. */
const CANONICAL_HOSTED_ZONE_ID = "Z35SXDOTRQ7X7K";

/**
 * Berth has no VPCs: subnets are kept as given, spread over the region's zones a, b, c
 * (AWS requires subnets in at least two zones of one VPC; Berth accepts none at all).
 */
function zonesOf(region: string, input: CreateLoadBalancerInput): AvailabilityZone[] {
  const subnets = [
    ...(input.Subnets ?? []),
    ...(input.SubnetMappings ?? []).map((m) => m.SubnetId ?? ""),
  ];
  return subnets.map((subnet, index) => ({
    ZoneName: `${region}${"abc"[index % 3] ?? "a"}`,
    SubnetId: subnet,
    LoadBalancerAddresses: [],
  }));
}

export function loadBalancerHandlers(store: Store, plane: ElbDataPlane) {
  return {
    createLoadBalancer: async (input, ctx) => {
      const name = input.Name ?? "";
      checkName("Load balancer", name);
      if (name.toLowerCase().startsWith("internal-"))
        throw validationError("Load balancer name cannot start with 'internal-'");
      const type = input.Type ?? "application";
      // ELB also makes network and gateway load balancers; Berth's data plane is HTTP only.
      if (type !== "application")
        throw validationError(`Berth supports application load balancers only, not '${type}'`);
      const scheme = input.Scheme ?? "internet-facing";
      const existing = await store
        .selectFrom("elb_load_balancers")
        .selectAll()
        .where("name", "=", name)
        .executeTakeFirst();
      if (existing !== undefined) {
        // Creating with the same name and settings is idempotent, as on AWS.
        const lb = readLoadBalancer(existing);
        if (lb.Scheme === scheme && lb.Type === type) return { LoadBalancers: [lb] };
        throw new AwsError(
          "DuplicateLoadBalancerName",
          `A load balancer with the same name '${name}' exists, but with different settings`,
        );
      }
      const count = await store
        .selectFrom("elb_load_balancers")
        .select((eb) => eb.fn.countAll<number>().as("n"))
        .executeTakeFirstOrThrow();
      if (Number(count.n) >= MAX_LOAD_BALANCERS) throw new AwsError("TooManyLoadBalancers");
      const now = ctx.clock.now();
      const lb: LoadBalancer = {
        LoadBalancerArn: loadBalancerArn(ctx.identity, name),
        DNSName: dnsName(ctx.identity, name),
        CanonicalHostedZoneId: CANONICAL_HOSTED_ZONE_ID,
        CreatedTime: now,
        LoadBalancerName: name,
        Scheme: scheme,
        // AWS shows `provisioning` for a few minutes; Berth's listeners are ready at once.
        State: { Code: "active" },
        Type: type,
        AvailabilityZones: zonesOf(ctx.identity.region, input),
        SecurityGroups: input.SecurityGroups ?? [],
        IpAddressType: input.IpAddressType ?? "ipv4",
      };
      await store
        .insertInto("elb_load_balancers")
        .values({
          arn: lb.LoadBalancerArn ?? "",
          name,
          document: JSON.stringify(lb),
          created_at: now.getTime(),
        })
        .execute();
      await writeTags(store, lb.LoadBalancerArn ?? "", input.Tags);
      return { LoadBalancers: [lb] };
    },

    describeLoadBalancers: async (input) => {
      const arns = input.LoadBalancerArns ?? [];
      const names = input.Names ?? [];
      if (arns.length > 0 && names.length > 0)
        throw validationError(
          "Load balancer names and load balancer ARNs cannot be specified at the same time",
        );
      let query = store.selectFrom("elb_load_balancers").selectAll().orderBy("created_at");
      if (arns.length > 0) query = query.where("arn", "in", arns);
      if (names.length > 0) query = query.where("name", "in", names);
      const rows = await query.execute();
      if (rows.length < new Set([...arns, ...names]).size) throw loadBalancerNotFound();
      const { items, ...next } = elbPage(rows.map(readLoadBalancer), input.Marker, input.PageSize);
      return { LoadBalancers: items, ...next };
    },

    deleteLoadBalancer: async (input) => {
      const lbArn = input.LoadBalancerArn ?? "";
      const deleted = await store.transaction().execute(async (trx) => {
        const row = await trx
          .selectFrom("elb_load_balancers")
          .selectAll()
          .where("arn", "=", lbArn)
          .executeTakeFirst();
        if (row === undefined) return undefined;
        if (loadBalancerAttributes(row)["deletion_protection.enabled"] === "true")
          throw new AwsError(
            "OperationNotPermitted",
            `Load balancer '${lbArn}' cannot be deleted because deletion protection is enabled`,
          );
        const listeners = await trx
          .selectFrom("elb_listeners")
          .select("arn")
          .where("load_balancer_arn", "=", lbArn)
          .execute();
        const listenerArns = listeners.map((l) => l.arn);
        const rules =
          listenerArns.length === 0
            ? []
            : await trx
                .selectFrom("elb_rules")
                .select("arn")
                .where("listener_arn", "in", listenerArns)
                .execute();
        if (listenerArns.length > 0) {
          await trx.deleteFrom("elb_rules").where("listener_arn", "in", listenerArns).execute();
          await trx.deleteFrom("elb_listeners").where("arn", "in", listenerArns).execute();
        }
        await trx.deleteFrom("elb_load_balancers").where("arn", "=", lbArn).execute();
        return [lbArn, ...listenerArns, ...rules.map((r) => r.arn)];
      });
      // "If the load balancer does not exist or has already been deleted, the call succeeds."
      if (deleted === undefined) return {};
      await dropTags(store, deleted);
      plane.changed();
      return {};
    },
  } satisfies Handlers<ElasticLoadBalancingV2>;
}
