/**
 * A service's load balancer targets: each target group the service registers its tasks into
 * (its `loadBalancers`), with every target's health as ELB's DescribeTargetHealth reports it.
 * Re-read when a target's health changes, a task changes or the service does.
 */
import { query, useLive } from "../api.js";
import { Failure, Status, Table } from "../components.js";

export interface ServiceLoadBalancer {
  targetGroupArn?: string;
  containerName?: string;
  containerPort?: number;
}

interface TargetGroup {
  TargetGroupArn: string;
  TargetGroupName: string;
  Protocol?: string;
  Port?: number;
  LoadBalancerArns?: string[];
}

interface TargetHealthDescription {
  Target: { Id: string; Port?: number; AvailabilityZone?: string };
  HealthCheckPort?: string;
  TargetHealth: { State: string; Reason?: string; Description?: string };
}

const ELB = "elasticloadbalancing";

async function load(
  arns: string[],
): Promise<{ group: TargetGroup; targets: TargetHealthDescription[] }[]> {
  if (arns.length === 0) return [];
  const { TargetGroups } = await query<{ TargetGroups: TargetGroup[] }>(
    ELB,
    "DescribeTargetGroups",
    { TargetGroupArns: arns },
  );
  return Promise.all(
    TargetGroups.map(async (group) => ({
      group,
      targets: (
        await query<{ TargetHealthDescriptions: TargetHealthDescription[] }>(
          ELB,
          "DescribeTargetHealth",
          { TargetGroupArn: group.TargetGroupArn },
        )
      ).TargetHealthDescriptions,
    })),
  );
}

export function LoadBalancerTargets(props: { loadBalancers: ServiceLoadBalancer[] }) {
  const arns = [
    ...new Set(props.loadBalancers.flatMap((lb) => (lb.targetGroupArn ? [lb.targetGroupArn] : []))),
  ];
  const { data, error } = useLive(
    () => load(arns),
    [arns.join(",")],
    (change) => change.kinds.some((k) => k === "targets" || k === "task" || k === "service"),
  );
  return (
    <section aria-labelledby="targets-title">
      <h2 id="targets-title">Load balancer targets</h2>
      <Failure error={error} />
      {arns.length === 0 ? (
        <p class="muted">Not behind a load balancer.</p>
      ) : (
        (data ?? []).map(({ group, targets }) => (
          <Table
            key={group.TargetGroupArn}
            caption={
              <>
                Target group {group.TargetGroupName} ({group.Protocol ?? "HTTP"}:{group.Port ?? 80}
                {(group.LoadBalancerArns ?? []).length === 0 ? ", no load balancer uses it" : ""})
              </>
            }
            shown
            columns={["Target", "Zone", "Health", "Reason"]}
            testid={`targets-${group.TargetGroupName}`}
          >
            {targets.map((t) => (
              <tr key={`${t.Target.Id}:${t.Target.Port ?? ""}`}>
                <td class="mono">
                  {t.Target.Id}:{t.Target.Port}
                </td>
                <td>{t.Target.AvailabilityZone ?? ""}</td>
                <td>
                  <Status value={t.TargetHealth.State} />
                </td>
                <td title={t.TargetHealth.Description}>{t.TargetHealth.Reason ?? ""}</td>
              </tr>
            ))}
          </Table>
        ))
      )}
    </section>
  );
}
