/**
 * Costs from the Cost Explorer API, as `berth bill` asks it: a period, a grouping (usage type,
 * service, cluster, family, purchase type, tag), totals summed exactly; and the cost per day.
 * Any cost allocation tag too (`by=tag&tag=KEY`, its keys from GetTags over the period).
 * What Spot and Savings Plans saved over the period comes from the console's own savings API
 * (Cost Explorer has no Spot savings).
 * The period and grouping live in the URL.
 */
import { useLocation } from "preact-iso";
import { CE, aws, getJson, useLive } from "../api.js";
import { Failure, Loading, Page, Table } from "../components.js";
import { formatCents, parseAmount } from "./money.js";

interface Result {
  TimePeriod: { Start: string; End: string };
  Total?: Record<string, { Amount: string }>;
  Groups?: { Keys: string[]; Metrics: Record<string, { Amount: string }> }[];
  Estimated?: boolean;
}

const GROUPS: Record<
  string,
  { label: string; definition: { Type: string; Key: string }; none: string }
> = {
  "usage-type": {
    label: "Usage type",
    definition: { Type: "DIMENSION", Key: "USAGE_TYPE" },
    none: "",
  },
  "purchase-type": {
    label: "Purchase type",
    definition: { Type: "DIMENSION", Key: "PURCHASE_TYPE" },
    none: "",
  },
  service: {
    label: "Service",
    definition: { Type: "TAG", Key: "aws:ecs:serviceName" },
    none: "(not a service)",
  },
  cluster: {
    label: "Cluster",
    definition: { Type: "TAG", Key: "aws:ecs:clusterName" },
    none: "(none)",
  },
  family: {
    label: "Task family",
    definition: { Type: "TAG", Key: "berth:taskDefinitionFamily" },
    none: "(none)",
  },
  // Its key is chosen from the period's tag keys (the `tag` parameter).
  tag: { label: "Tag", definition: { Type: "TAG", Key: "" }, none: "(untagged)" },
};
const METRICS = ["UnblendedCost", "AmortizedCost", "NetUnblendedCost", "NetAmortizedCost"];

function day(date: Date): string {
  return date.toISOString().slice(0, 10);
}

async function pages(input: object): Promise<Result[]> {
  const results: Result[] = [];
  let token: string | undefined;
  do {
    const page = await aws<{ ResultsByTime: Result[]; NextPageToken?: string }>(
      `${CE}.GetCostAndUsage`,
      {
        ...input,
        ...(token === undefined ? {} : { NextPageToken: token }),
      },
    );
    results.push(...page.ResultsByTime);
    token = page.NextPageToken;
  } while (token !== undefined);
  return results;
}

interface SavingsAnswer {
  spot: { cost: string; onDemand: string; saved: string };
  savingsPlans: { commitment: string; onDemand: string; saved: string };
}

/** What Spot and Savings Plans saved against on-demand prices over the period. */
function Savings(props: { since: string; until: string }) {
  const { data, error } = useLive(
    () =>
      getJson<SavingsAnswer>(
        `savings?since=${encodeURIComponent(props.since)}&until=${encodeURIComponent(props.until)}`,
      ),
    [props.since, props.until],
    (change) => change.kinds.includes("task"),
  );
  return (
    <section aria-labelledby="savings-title">
      <h2 id="savings-title">Savings</h2>
      <Failure error={error} />
      {data === undefined ? null : (
        <Table
          caption="What Spot and Savings Plans saved"
          columns={[
            "Purchase",
            { label: "On demand (USD)", class: "num" },
            { label: "Paid (USD)", class: "num" },
            { label: "Saved (USD)", class: "num" },
          ]}
          testid="savings"
        >
          <tr data-testid="savings-spot">
            <th scope="row">Spot</th>
            <td class="num">{data.spot.onDemand}</td>
            <td class="num">{data.spot.cost}</td>
            <td class="num">{data.spot.saved}</td>
          </tr>
          <tr data-testid="savings-plans">
            <th scope="row">Savings Plans (net of commitment)</th>
            <td class="num">{data.savingsPlans.onDemand}</td>
            <td class="num">{data.savingsPlans.commitment}</td>
            <td class="num">{data.savingsPlans.saved}</td>
          </tr>
        </Table>
      )}
    </section>
  );
}

export function CostsPage() {
  const { query, path, route } = useLocation();
  const now = new Date();
  const since = query.since ?? day(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)));
  const until =
    query.until ??
    day(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1)));
  const by = Object.hasOwn(GROUPS, query.by ?? "") ? (query.by as string) : "usage-type";
  const metric = METRICS.includes(query.metric ?? "") ? (query.metric as string) : "UnblendedCost";
  const group = GROUPS[by] ?? GROUPS["usage-type"]!;
  const { data, error } = useLive(
    async () => {
      const period = { TimePeriod: { Start: since, End: until }, Metrics: [metric] };
      // The tag keys of the period (for the tag grouping's choice).
      const tagKeys =
        by === "tag"
          ? (
              await aws<{ Tags: string[] }>(`${CE}.GetTags`, {
                TimePeriod: { Start: since, End: until },
              })
            ).Tags
          : [];
      const tagKey = by === "tag" ? (query.tag ?? tagKeys[0] ?? "") : "";
      if (by === "tag" && tagKey === "")
        return { rows: [], total: 0n, days: [], estimated: false, tagKeys, tagKey };
      const definition = by === "tag" ? { Type: "TAG", Key: tagKey } : group.definition;
      const grouped = await pages({
        ...period,
        Granularity: "MONTHLY",
        GroupBy: [definition],
      });
      const daily = await pages({ ...period, Granularity: "DAILY" });
      const sums = new Map<string, bigint>();
      let estimated = false;
      for (const result of grouped) {
        estimated ||= result.Estimated === true;
        for (const g of result.Groups ?? []) {
          const key = g.Keys[0] ?? "";
          const value = group.definition.Type === "TAG" ? key.slice(key.indexOf("$") + 1) : key;
          const label = value === "" ? group.none : value;
          sums.set(label, (sums.get(label) ?? 0n) + parseAmount(g.Metrics[metric]?.Amount ?? "0"));
        }
      }
      const rows = [...sums].sort((a, b) =>
        a[1] === b[1] ? (a[0] < b[0] ? -1 : 1) : a[1] > b[1] ? -1 : 1,
      );
      const total = rows.reduce((sum, [, amount]) => sum + amount, 0n);
      const days = daily.map((r) => ({
        day: r.TimePeriod.Start,
        amount: parseAmount(r.Total?.[metric]?.Amount ?? "0"),
      }));
      return { rows, total, days, estimated, tagKeys, tagKey };
    },
    [since, until, by, metric, query.tag],
    (change) => change.kinds.includes("task"),
  );
  const set = (name: string, value: string): void => {
    const next = new URLSearchParams({ since, until, by, metric });
    if (by === "tag" && query.tag !== undefined) next.set("tag", query.tag);
    next.set(name, value);
    if (name === "by") next.delete("tag");
    route(`${path}?${next.toString()}`, true);
  };
  return (
    <Page title="Costs">
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          From{" "}
          <input type="date" value={since} onChange={(e) => set("since", e.currentTarget.value)} />
        </label>
        <label>
          Until (exclusive){" "}
          <input type="date" value={until} onChange={(e) => set("until", e.currentTarget.value)} />
        </label>
        <label>
          Group by{" "}
          <select value={by} onChange={(e) => set("by", e.currentTarget.value)}>
            {Object.entries(GROUPS).map(([key, g]) => (
              <option value={key}>{g.label}</option>
            ))}
          </select>
        </label>
        {by !== "tag" ? null : (
          <label>
            Tag key{" "}
            <select
              value={data?.tagKey ?? query.tag ?? ""}
              onChange={(e) => set("tag", e.currentTarget.value)}
            >
              {(data?.tagKeys ?? []).map((k) => (
                <option value={k}>{k}</option>
              ))}
            </select>
          </label>
        )}
        <label>
          Metric{" "}
          <select value={metric} onChange={(e) => set("metric", e.currentTarget.value)}>
            {METRICS.map((m) => (
              <option value={m}>{m}</option>
            ))}
          </select>
        </label>
      </form>
      <Failure error={error} />
      {data === undefined ? (
        <Loading what="costs" />
      ) : (
        <>
          <p class="total">
            Total <strong data-testid="cost-total">{formatCents(data.total)}</strong> USD, {since}{" "}
            to {until} (UTC, end exclusive)
            {data.estimated ? "; estimated, usage is still accruing" : ""}
          </p>
          <h2>
            By{" "}
            {by === "tag"
              ? `tag ${data.tagKey || "(no tags in this period)"}`
              : group.label.toLowerCase()}
          </h2>
          <Table
            caption={`Cost by ${group.label}`}
            columns={[
              group.label,
              { label: "Cost (USD)", class: "num" },
              { label: "Share", class: "num" },
            ]}
            testid="cost-groups"
          >
            {data.rows.map(([label, amount]) => (
              <tr key={label}>
                <td>{label}</td>
                <td class="num">{formatCents(amount)}</td>
                <td class="num">
                  {data.total === 0n
                    ? "—"
                    : `${(Number((amount * 2000n + data.total) / (data.total * 2n)) / 10).toFixed(1)}%`}
                </td>
              </tr>
            ))}
          </Table>
          <h2>By day</h2>
          <div class="bars" role="list" aria-label="Cost per day" data-testid="cost-days">
            {data.days.map((d) => {
              const max = data.days.reduce((m, x) => (x.amount > m ? x.amount : m), 1n);
              return (
                <div class="bar-row" role="listitem" key={d.day}>
                  <span class="bar-label">{d.day}</span>
                  <span class="bar" style={{ width: `${Number((d.amount * 100n) / max)}%` }} />
                  <span class="num">{formatCents(d.amount)}</span>
                </div>
              );
            })}
          </div>
          <Savings since={since} until={until} />
        </>
      )}
    </Page>
  );
}
