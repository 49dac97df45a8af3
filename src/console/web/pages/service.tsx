/**
 * One service: its deployments and rollout state, counts, its tasks, its events, and the
 * actions scale, force a new deployment and roll back (to the previous deployment's revision).
 */
import { useState } from "preact/hooks";
import { AUTOSCALING, BASE, ECS, aws, useActions, useLive } from "../api.js";
import { LoadBalancerTargets, type ServiceLoadBalancer } from "./targets.js";
import { Failure, Loading, Page, Status, Table } from "../components.js";
import { tail, taskDefinitionName, when } from "../format.js";
import { MetricsCharts } from "../chart.js";
import type { Service } from "./clusters.js";
import type { Task } from "./task.js";

interface Deployment {
  id: string;
  status: string;
  taskDefinition: string;
  desiredCount: number;
  pendingCount: number;
  runningCount: number;
  failedTasks?: number;
  rolloutState?: string;
  rolloutStateReason?: string;
  createdAt?: number;
  updatedAt?: number;
}

interface ServiceDetail extends Service {
  deployments: Deployment[];
  events: { id: string; createdAt: number; message: string }[];
  loadBalancers?: ServiceLoadBalancer[];
}

interface Scaling {
  target?: { MinCapacity: number; MaxCapacity: number };
  policies: {
    PolicyName: string;
    PolicyType: string;
    TargetTrackingScalingPolicyConfiguration?: {
      TargetValue: number;
      PredefinedMetricSpecification?: { PredefinedMetricType: string };
    };
  }[];
  activities: { ActivityId: string; StartTime: number; StatusCode: string; Description: string }[];
}

/** The service's Application Auto Scaling target, policies and latest activities. */
async function scaling(cluster: string, name: string): Promise<Scaling> {
  const id = { ServiceNamespace: "ecs", ResourceId: `service/${cluster}/${name}` };
  const targets = await aws<{ ScalableTargets: NonNullable<Scaling["target"]>[] }>(
    `${AUTOSCALING}.DescribeScalableTargets`,
    { ServiceNamespace: "ecs", ResourceIds: [id.ResourceId] },
  );
  const target = targets.ScalableTargets[0];
  if (target === undefined) return { policies: [], activities: [] };
  const policies = await aws<{ ScalingPolicies: Scaling["policies"] }>(
    `${AUTOSCALING}.DescribeScalingPolicies`,
    id,
  );
  const activities = await aws<{ ScalingActivities: Scaling["activities"] }>(
    `${AUTOSCALING}.DescribeScalingActivities`,
    { ...id, MaxResults: 20 },
  );
  return { target, policies: policies.ScalingPolicies, activities: activities.ScalingActivities };
}

function metricOf(policy: Scaling["policies"][number]): string {
  const config = policy.TargetTrackingScalingPolicyConfiguration;
  if (config === undefined) return "";
  const metric = config.PredefinedMetricSpecification?.PredefinedMetricType ?? "a metric";
  return `, ${metric} at ${config.TargetValue}`;
}

function AutoScaling(props: { cluster: string; service: string }) {
  const { data, error } = useLive(
    () => scaling(props.cluster, props.service),
    [props.cluster, props.service],
    (change) => change.kinds.includes("service"),
  );
  return (
    <section aria-labelledby="scaling-title">
      <h2 id="scaling-title">Auto scaling</h2>
      <Failure error={error} />
      {data === undefined ? null : data.target === undefined ? (
        <p class="muted">Not scaled automatically (no scalable target registered).</p>
      ) : (
        <>
          <p>
            Between {data.target.MinCapacity} and {data.target.MaxCapacity} tasks.
          </p>
          <ul data-testid="scaling-policies">
            {data.policies.map((p) => (
              <li key={p.PolicyName}>
                {p.PolicyName}: {p.PolicyType}
                {metricOf(p)}
              </li>
            ))}
          </ul>
          <ul class="events">
            {data.activities.map((a) => (
              <li key={a.ActivityId}>
                <time>{when(a.StartTime)}</time> {a.StatusCode}: {a.Description}
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}

async function load(
  cluster: string,
  name: string,
): Promise<{ service?: ServiceDetail; tasks: Task[] }> {
  const { services } = await aws<{ services: ServiceDetail[] }>(`${ECS}.DescribeServices`, {
    cluster,
    services: [name],
  });
  const service = services[0];
  if (service === undefined) return { tasks: [] };
  const arns: string[] = [];
  for (const desiredStatus of ["RUNNING", "STOPPED"]) {
    const page = await aws<{ taskArns: string[] }>(`${ECS}.ListTasks`, {
      cluster,
      serviceName: name,
      desiredStatus,
      maxResults: 100,
    });
    arns.push(...page.taskArns);
  }
  const tasks =
    arns.length === 0
      ? []
      : (
          await aws<{ tasks: Task[] }>(`${ECS}.DescribeTasks`, {
            cluster,
            tasks: arns.slice(0, 100),
          })
        ).tasks;
  tasks.sort((a, b) => (b.createdAt ?? 0) - (a.createdAt ?? 0));
  return { service, tasks };
}

export function ServicePage(props: { cluster: string; service: string }) {
  const { cluster, service: name } = props;
  const { data, error, reload } = useLive(() => load(cluster, name), [cluster, name]);
  const [count, setCount] = useState("");
  const { busy, error: actionError, setError: setActionError, act } = useActions(reload);
  const update = (input: object): void =>
    act("update", () => aws(`${ECS}.UpdateService`, { cluster, service: name, ...input }));
  const s = data?.service;
  if (data === undefined)
    return (
      <Page title={`Service ${name}`}>
        {error === undefined ? <Loading what="the service" /> : <Failure error={error} />}
      </Page>
    );
  if (s === undefined)
    return (
      <Page title={`Service ${name}`}>
        <p>No such service in {cluster}.</p>
      </Page>
    );
  const previous = s.deployments.find(
    (d) => d.status !== "PRIMARY" && d.taskDefinition !== s.taskDefinition,
  );
  return (
    <Page
      title={`Service ${name}`}
      actions={
        <>
          <button
            type="button"
            disabled={busy !== undefined}
            onClick={() => update({ forceNewDeployment: true })}
          >
            Force new deployment
          </button>
          {previous === undefined ? null : (
            <button
              type="button"
              disabled={busy !== undefined}
              onClick={() => update({ taskDefinition: previous.taskDefinition })}
            >
              Roll back to {taskDefinitionName(previous.taskDefinition)}
            </button>
          )}
        </>
      }
    >
      <Failure error={actionError ?? error} />
      <p>
        <Status value={s.status} /> desired <strong data-testid="desired">{s.desiredCount}</strong>,
        running <strong data-testid="running">{s.runningCount}</strong>, pending{" "}
        <strong>{s.pendingCount}</strong> · {taskDefinitionName(s.taskDefinition)}
      </p>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          const n = Number.parseInt(count, 10);
          if (Number.isInteger(n) && n >= 0) update({ desiredCount: n });
          else setActionError("The desired count is a whole number, 0 or more.");
        }}
      >
        <label>
          Desired tasks{" "}
          <input
            name="desiredCount"
            type="number"
            min={0}
            inputMode="numeric"
            value={count}
            placeholder={String(s.desiredCount)}
            onInput={(e) => setCount(e.currentTarget.value)}
          />
        </label>
        <button type="submit" disabled={busy !== undefined}>
          Scale
        </button>
      </form>
      <MetricsCharts cluster={cluster} service={name} />
      <h2>Deployments</h2>
      <Table
        caption="Deployments"
        columns={[
          "Deployment",
          "Status",
          "Rollout",
          "Task definition",
          "Desired / pending / running",
          "Failed tasks",
          "Updated",
        ]}
        testid="deployments"
      >
        {s.deployments.map((d) => (
          <tr key={d.id}>
            <td class="mono">{d.id}</td>
            <td>{d.status}</td>
            <td title={d.rolloutStateReason}>
              <Status value={d.rolloutState} />
            </td>
            <td>{taskDefinitionName(d.taskDefinition)}</td>
            <td>
              {d.desiredCount} / {d.pendingCount} / {d.runningCount}
            </td>
            <td>{d.failedTasks ?? 0}</td>
            <td>{when(d.updatedAt)}</td>
          </tr>
        ))}
      </Table>
      <h2>Tasks</h2>
      <Table
        caption="Tasks of the service"
        columns={["Task", "Last status", "Desired", "Created"]}
        testid="service-tasks"
      >
        {data.tasks.map((t) => (
          <tr key={t.taskArn}>
            <td class="mono">
              <a href={`${BASE}/clusters/${encodeURIComponent(cluster)}/tasks/${tail(t.taskArn)}`}>
                {tail(t.taskArn)}
              </a>
            </td>
            <td>
              <Status value={t.lastStatus} />
            </td>
            <td>{t.desiredStatus}</td>
            <td>{when(t.createdAt)}</td>
          </tr>
        ))}
      </Table>
      <LoadBalancerTargets loadBalancers={s.loadBalancers ?? []} />
      <AutoScaling cluster={cluster} service={name} />
      <h2>Events</h2>
      <ul class="events" data-testid="service-events">
        {s.events.slice(0, 50).map((e) => (
          <li key={e.id}>
            <time>{when(e.createdAt)}</time> {e.message}
          </li>
        ))}
      </ul>
    </Page>
  );
}
