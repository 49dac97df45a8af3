/**
 * The load balancers: each one's DNS name, its listeners and where their default actions send
 * requests, and per target group the requests and TargetResponseTime through it as charts (the
 * load balancer's own measurements, kept per metric period like the other datapoints).
 */
import { query, useLive } from "../api.js";
import { Failure, Loading, Page, Status, Table } from "../components.js";
import { MetricsCharts } from "../chart.js";

const ELB = "elasticloadbalancing";

interface LoadBalancer {
  LoadBalancerArn: string;
  LoadBalancerName: string;
  DNSName?: string;
  State?: { Code?: string };
}

interface Listener {
  ListenerArn: string;
  Port?: number;
  Protocol?: string;
  DefaultActions?: {
    Type: string;
    TargetGroupArn?: string;
    ForwardConfig?: { TargetGroups?: { TargetGroupArn?: string }[] };
  }[];
}

interface TargetGroup {
  TargetGroupArn: string;
  TargetGroupName: string;
}

interface Detail {
  balancer: LoadBalancer;
  listeners: Listener[];
  groups: TargetGroup[];
}

async function load(): Promise<Detail[]> {
  const { LoadBalancers } = await query<{ LoadBalancers: LoadBalancer[] }>(
    ELB,
    "DescribeLoadBalancers",
    {},
  );
  return Promise.all(
    LoadBalancers.map(async (balancer) => {
      const arn = { LoadBalancerArn: balancer.LoadBalancerArn };
      const [{ Listeners }, { TargetGroups }] = await Promise.all([
        query<{ Listeners: Listener[] }>(ELB, "DescribeListeners", arn),
        query<{ TargetGroups: TargetGroup[] }>(ELB, "DescribeTargetGroups", arn),
      ]);
      return { balancer, listeners: Listeners, groups: TargetGroups };
    }),
  );
}

function forwardsTo(listener: Listener, groups: TargetGroup[]): string {
  const names = new Map(groups.map((g) => [g.TargetGroupArn, g.TargetGroupName]));
  return (listener.DefaultActions ?? [])
    .map((action) => {
      const arns = action.TargetGroupArn
        ? [action.TargetGroupArn]
        : (action.ForwardConfig?.TargetGroups ?? []).flatMap((g) =>
            g.TargetGroupArn ? [g.TargetGroupArn] : [],
          );
      return arns.length === 0
        ? action.Type
        : `${action.Type} to ${arns.map((a) => names.get(a) ?? a).join(", ")}`;
    })
    .join("; ");
}

export function LoadBalancersPage() {
  const { data, error } = useLive(load, [], (change) =>
    change.kinds.some((k) => k === "targets" || k === "service"),
  );
  return (
    <Page title="Load balancers">
      <Failure error={error} />
      {data === undefined ? (
        error === undefined ? (
          <Loading what="the load balancers" />
        ) : null
      ) : data.length === 0 ? (
        <p class="muted">No load balancers.</p>
      ) : (
        data.map(({ balancer, listeners, groups }) => (
          <section
            key={balancer.LoadBalancerArn}
            aria-labelledby={`lb-${balancer.LoadBalancerName}`}
            data-testid={`lb-${balancer.LoadBalancerName}`}
          >
            <h2 id={`lb-${balancer.LoadBalancerName}`}>
              {balancer.LoadBalancerName} <Status value={balancer.State?.Code} />
            </h2>
            <p class="mono">{balancer.DNSName ?? ""}</p>
            <Table
              caption={`Listeners of ${balancer.LoadBalancerName}`}
              columns={["Listener", "Default action"]}
            >
              {listeners.map((l) => (
                <tr key={l.ListenerArn}>
                  <td>
                    {l.Protocol ?? "HTTP"}:{l.Port ?? ""}
                  </td>
                  <td>{forwardsTo(l, groups)}</td>
                </tr>
              ))}
            </Table>
            {groups.map((g) => (
              <div key={g.TargetGroupArn} data-testid={`tg-metrics-${g.TargetGroupName}`}>
                <MetricsCharts
                  targetGroupArn={g.TargetGroupArn}
                  title={`Target group ${g.TargetGroupName}`}
                />
              </div>
            ))}
          </section>
        ))
      )}
    </Page>
  );
}
