/**
 * Run a task from a form: cluster, task definition, count, capacity, and overrides of the first
 * container's command and environment; then to the (first) task's page to watch it start.
 */
import { useLocation } from "preact-iso";
import { BASE, ECS, aws, useActions, useLive } from "../api.js";
import { Failure, Page } from "../components.js";
import { formText, tail } from "../format.js";

interface Definition {
  containerDefinitions: { name: string }[];
}

export function RunTaskPage() {
  const { query, route } = useLocation();
  const { busy, error, act } = useActions();
  const lists = useLive(async () => {
    const clusters = (
      await aws<{ clusterArns: string[] }>(`${ECS}.ListClusters`, { maxResults: 100 })
    ).clusterArns;
    const families = (
      await aws<{ families: string[] }>(`${ECS}.ListTaskDefinitionFamilies`, {
        status: "ACTIVE",
        maxResults: 100,
      })
    ).families;
    return { clusters: clusters.map(tail), families };
  }, []);
  const submit = (event: Event): void => {
    event.preventDefault();
    const data = new FormData(event.currentTarget as HTMLFormElement);
    const field = (name: string): string => formText(data, name).trim();
    const cluster = field("cluster");
    const taskDefinition = field("taskDefinition");
    const count = Number.parseInt(field("count"), 10);
    const command = field("command");
    const environment = field("environment")
      .split("\n")
      .map((line) => line.trim())
      .filter((line) => line !== "")
      .map((line) => {
        const eq = line.indexOf("=");
        return eq < 0
          ? { name: line, value: "" }
          : { name: line.slice(0, eq), value: line.slice(eq + 1) };
      });
    const capacity = field("capacity");
    act("run", async () => {
      const overrides: object[] = [];
      if (command !== "" || environment.length > 0) {
        const { taskDefinition: definition } = await aws<{ taskDefinition: Definition }>(
          `${ECS}.DescribeTaskDefinition`,
          { taskDefinition },
        );
        const name = definition.containerDefinitions[0]?.name;
        if (name === undefined) throw new Error("The task definition has no container.");
        overrides.push({
          name,
          ...(command === "" ? {} : { command: ["sh", "-c", command] }),
          ...(environment.length === 0 ? {} : { environment }),
        });
      }
      const answer = await aws<{
        tasks: { taskArn: string }[];
        failures: { reason?: string; detail?: string }[];
      }>(`${ECS}.RunTask`, {
        cluster,
        taskDefinition,
        count: Number.isInteger(count) ? count : 1,
        ...(capacity === "FARGATE_SPOT"
          ? { capacityProviderStrategy: [{ capacityProvider: "FARGATE_SPOT", weight: 1 }] }
          : { launchType: "FARGATE" }),
        ...(overrides.length === 0 ? {} : { overrides: { containerOverrides: overrides } }),
      });
      const first = answer.tasks[0];
      if (first === undefined) {
        const failure = answer.failures[0];
        throw new Error(
          `No task started: ${failure?.reason ?? "unknown"} ${failure?.detail ?? ""}`,
        );
      }
      route(`${BASE}/clusters/${encodeURIComponent(cluster)}/tasks/${tail(first.taskArn)}`);
    });
  };
  const clusters = lists.data?.clusters ?? [];
  const families = lists.data?.families ?? [];
  return (
    <Page title="Run a task">
      <Failure error={lists.error ?? error} />
      <form class="form" onSubmit={submit}>
        <label for="run-cluster">Cluster</label>
        <select
          id="run-cluster"
          name="cluster"
          defaultValue={query.cluster ?? clusters[0] ?? "default"}
        >
          {(clusters.length === 0 ? ["default"] : clusters).map((c) => (
            <option value={c}>{c}</option>
          ))}
        </select>
        <label for="run-definition">Task definition (family or family:revision)</label>
        <input
          id="run-definition"
          name="taskDefinition"
          list="run-families"
          required
          defaultValue={query.taskDefinition ?? ""}
        />
        <datalist id="run-families">
          {families.map((f) => (
            <option value={f} />
          ))}
        </datalist>
        <label for="run-count">Count</label>
        <input
          id="run-count"
          name="count"
          type="number"
          min={1}
          max={10}
          defaultValue="1"
          inputMode="numeric"
        />
        <label for="run-capacity">Capacity</label>
        <select id="run-capacity" name="capacity">
          <option value="FARGATE">FARGATE (on demand)</option>
          <option value="FARGATE_SPOT">FARGATE_SPOT</option>
        </select>
        <label for="run-command">Command override (run by sh -c, first container)</label>
        <input id="run-command" name="command" spellcheck={false} />
        <label for="run-environment">Environment overrides (NAME=value, one a line)</label>
        <textarea id="run-environment" name="environment" rows={3} spellcheck={false} />
        <button type="submit" disabled={busy !== undefined}>
          {busy !== undefined ? "Starting…" : "Run task"}
        </button>
      </form>
    </Page>
  );
}
