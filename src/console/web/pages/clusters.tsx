/** Clusters (counts), the hosts they share (capacity, AZ, health), and one cluster's services. */
import { BASE, ECS, aws, getJson, listAll, useLive } from "../api.js";
import { Failure, Loading, Page, Status, Table } from "../components.js";
import { tail, whenMs } from "../format.js";
import type { HostRow } from "../../task-table.js";

interface Cluster {
  clusterName: string;
  clusterArn: string;
  status: string;
  runningTasksCount: number;
  pendingTasksCount: number;
  activeServicesCount: number;
}

export interface Service {
  serviceName: string;
  serviceArn: string;
  status: string;
  desiredCount: number;
  runningCount: number;
  pendingCount: number;
  taskDefinition: string;
}

async function clusters(names?: string[]): Promise<Cluster[]> {
  const arns =
    names ??
    (await aws<{ clusterArns: string[] }>(`${ECS}.ListClusters`, { maxResults: 100 })).clusterArns;
  if (arns.length === 0) return [];
  return (await aws<{ clusters: Cluster[] }>(`${ECS}.DescribeClusters`, { clusters: arns }))
    .clusters;
}

export async function services(cluster: string): Promise<Service[]> {
  const arns = await listAll<string>(`${ECS}.ListServices`, { cluster }, "serviceArns");
  const found: Service[] = [];
  for (let i = 0; i < arns.length; i += 10) {
    const page = await aws<{ services: Service[] }>(`${ECS}.DescribeServices`, {
      cluster,
      services: arns.slice(i, i + 10),
    });
    found.push(...page.services);
  }
  return found;
}

interface ZoneCapacity {
  zone: string;
  hosts: number;
  cpu: number;
  reservedCpu: number;
  memory: number;
  reservedMemory: number;
}

/** Capacity per availability zone: what placement can spread a service's tasks over. */
function byZone(hosts: HostRow[]): ZoneCapacity[] {
  const zones = new Map<string, ZoneCapacity>();
  for (const h of hosts) {
    if (h.status !== "ACTIVE") continue;
    const z = zones.get(h.availabilityZone) ?? {
      zone: h.availabilityZone,
      hosts: 0,
      cpu: 0,
      reservedCpu: 0,
      memory: 0,
      reservedMemory: 0,
    };
    z.hosts++;
    z.cpu += h.cpu;
    z.reservedCpu += h.reservedCpu;
    z.memory += h.memory;
    z.reservedMemory += h.reservedMemory;
    zones.set(h.availabilityZone, z);
  }
  return [...zones.values()].sort((a, b) => (a.zone < b.zone ? -1 : 1));
}

function HostsTable() {
  const { data, error } = useLive(() => getJson<{ hosts: HostRow[] }>("hosts"), []);
  const zones = byZone(data?.hosts ?? []);
  return (
    <section aria-labelledby="hosts-title">
      <h2 id="hosts-title">Hosts</h2>
      <Failure error={error} />
      {zones.length === 0 ? null : (
        <Table
          caption="Capacity per availability zone (active hosts)"
          columns={[
            "Availability zone",
            "Active hosts",
            "vCPU free / offered",
            "Memory free / offered",
          ]}
          testid="zones"
        >
          {zones.map((z) => (
            <tr key={z.zone}>
              <td>{z.zone}</td>
              <td>{z.hosts}</td>
              <td>
                {(z.cpu - z.reservedCpu) / 1024} / {z.cpu / 1024}
              </td>
              <td>
                {z.memory - z.reservedMemory} / {z.memory} MiB
              </td>
            </tr>
          ))}
        </Table>
      )}
      {data === undefined ? (
        <Loading what="hosts" />
      ) : (
        <Table
          caption="Compute hosts and their capacity"
          columns={[
            "Host",
            "AZ",
            "Health",
            "Tasks",
            "vCPU used / offered",
            "Memory used / offered",
            "Capacity",
            "Last seen",
          ]}
        >
          {data.hosts.map((h) => (
            <tr key={h.hostId}>
              <td class="mono">{h.hostId}</td>
              <td>{h.availabilityZone}</td>
              <td>
                <Status value={h.status} />
              </td>
              <td>{h.tasks}</td>
              <td>
                {h.reservedCpu / 1024} / {h.cpu / 1024}
              </td>
              <td>
                {h.reservedMemory} / {h.memory} MiB
              </td>
              <td>{h.capacityProviders.join(", ")}</td>
              <td>{whenMs(h.lastSeenAt)}</td>
            </tr>
          ))}
        </Table>
      )}
    </section>
  );
}

export function ClustersPage() {
  const { data, error } = useLive(() => clusters(), []);
  return (
    <Page title="Clusters">
      <Failure error={error} />
      {data === undefined ? (
        <Loading what="clusters" />
      ) : (
        <Table
          caption="Clusters"
          columns={["Cluster", "Status", "Services", "Running tasks", "Pending tasks"]}
        >
          {data.map((c) => (
            <tr key={c.clusterArn}>
              <td>
                <a href={`${BASE}/clusters/${encodeURIComponent(c.clusterName)}`}>
                  {c.clusterName}
                </a>
              </td>
              <td>
                <Status value={c.status} />
              </td>
              <td>{c.activeServicesCount}</td>
              <td data-testid={`running-${c.clusterName}`}>{c.runningTasksCount}</td>
              <td>{c.pendingTasksCount}</td>
            </tr>
          ))}
        </Table>
      )}
      <HostsTable />
    </Page>
  );
}

export function ClusterPage(props: { cluster: string }) {
  const name = props.cluster;
  const cluster = useLive(() => clusters([name]), [name]);
  const list = useLive(() => services(name), [name]);
  const c = cluster.data?.[0];
  return (
    <Page
      title={`Cluster ${name}`}
      actions={
        <>
          <a class="button" href={`${BASE}/clusters/${encodeURIComponent(name)}/tasks`}>
            Tasks
          </a>
          <a class="button" href={`${BASE}/run?cluster=${encodeURIComponent(name)}`}>
            Run task
          </a>
        </>
      }
    >
      <Failure error={cluster.error ?? list.error} />
      {c === undefined ? null : (
        <p>
          <Status value={c.status} /> {c.runningTasksCount} running, {c.pendingTasksCount} pending,{" "}
          {c.activeServicesCount} services
        </p>
      )}
      <h2>Services</h2>
      {list.data === undefined ? (
        <Loading what="services" />
      ) : list.data.length === 0 ? (
        <p class="muted">No services in this cluster.</p>
      ) : (
        <Table
          caption={`Services of ${name}`}
          columns={["Service", "Status", "Desired", "Running", "Pending", "Task definition"]}
        >
          {list.data.map((s) => (
            <tr key={s.serviceArn}>
              <td>
                <a
                  href={`${BASE}/clusters/${encodeURIComponent(name)}/services/${encodeURIComponent(s.serviceName)}`}
                >
                  {s.serviceName}
                </a>
              </td>
              <td>
                <Status value={s.status} />
              </td>
              <td>{s.desiredCount}</td>
              <td>{s.runningCount}</td>
              <td>{s.pendingCount}</td>
              <td>{tail(s.taskDefinition)}</td>
            </tr>
          ))}
        </Table>
      )}
    </Page>
  );
}
