// ECS clusters, task definitions and tags through the real AWS SDK against an in-process Berth.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  CreateClusterCommand,
  DeleteClusterCommand,
  DeleteTaskDefinitionsCommand,
  DeregisterTaskDefinitionCommand,
  DescribeClustersCommand,
  DescribeTaskDefinitionCommand,
  ECSClient,
  ListClustersCommand,
  ListTagsForResourceCommand,
  ListTaskDefinitionFamiliesCommand,
  ListTaskDefinitionsCommand,
  RegisterTaskDefinitionCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateClusterCommand,
  type RegisterTaskDefinitionCommandInput,
} from "@aws-sdk/client-ecs";
import { startBerthInProcess, type TestBerth } from "../../../../src/testing/index.js";

let berth: TestBerth;
let ecs: ECSClient;

before(async () => {
  berth = await startBerthInProcess();
  ecs = new ECSClient(berth.clientConfig);
});
after(async () => {
  ecs.destroy();
  await berth.stop();
});

const web = (family = "web"): RegisterTaskDefinitionCommandInput => ({
  family,
  requiresCompatibilities: ["FARGATE"],
  networkMode: "awsvpc",
  cpu: "256",
  memory: "512",
  containerDefinitions: [
    { name: "app", image: "busybox", portMappings: [{ containerPort: 8080 }] },
  ],
});

async function errorOf(
  promise: Promise<unknown>,
): Promise<{ name: string; message: string; status?: number }> {
  try {
    await promise;
  } catch (error) {
    const e = error as { name: string; message: string; $metadata?: { httpStatusCode?: number } };
    return { name: e.name, message: e.message, status: e.$metadata?.httpStatusCode };
  }
  assert.fail("expected the call to fail");
}

describe("clusters", () => {
  it("has a default cluster from the start", async () => {
    const { clusters = [] } = await ecs.send(new DescribeClustersCommand({}));
    assert.equal(clusters[0]?.clusterName, "default");
    assert.equal(clusters[0]?.clusterArn, "arn:aws:ecs:us-east-1:000000000000:cluster/default");
  });

  it("creates, describes with include, updates, lists and deletes", async () => {
    const created = await ecs.send(
      new CreateClusterCommand({ clusterName: "demo", tags: [{ key: "team", value: "a" }] }),
    );
    assert.equal(created.cluster?.status, "ACTIVE");
    assert.deepEqual(created.cluster?.tags, [{ key: "team", value: "a" }]);
    const again = await ecs.send(new CreateClusterCommand({ clusterName: "demo" }));
    assert.equal(
      again.cluster?.clusterArn,
      created.cluster?.clusterArn,
      "CreateCluster is idempotent",
    );

    const plain = await ecs.send(new DescribeClustersCommand({ clusters: ["demo"] }));
    assert.equal(plain.clusters?.[0]?.tags, undefined, "tags only with include TAGS");
    const full = await ecs.send(
      new DescribeClustersCommand({
        clusters: [created.cluster?.clusterArn ?? "", "ghost"],
        include: ["TAGS", "SETTINGS"],
      }),
    );
    assert.deepEqual(full.clusters?.[0]?.tags, [{ key: "team", value: "a" }]);
    assert.deepEqual(full.clusters?.[0]?.settings, [
      { name: "containerInsights", value: "disabled" },
    ]);
    assert.deepEqual(full.failures, [
      { arn: "arn:aws:ecs:us-east-1:000000000000:cluster/ghost", reason: "MISSING" },
    ]);

    const updated = await ecs.send(
      new UpdateClusterCommand({
        cluster: "demo",
        settings: [{ name: "containerInsights", value: "enabled" }],
      }),
    );
    assert.deepEqual(updated.cluster?.settings, [{ name: "containerInsights", value: "enabled" }]);

    const listed = await ecs.send(new ListClustersCommand({}));
    assert.ok(listed.clusterArns?.includes(created.cluster?.clusterArn ?? ""));

    const deleted = await ecs.send(new DeleteClusterCommand({ cluster: "demo" }));
    assert.equal(deleted.cluster?.status, "INACTIVE");
    const afterDelete = await ecs.send(new ListClustersCommand({}));
    assert.ok(!afterDelete.clusterArns?.includes(created.cluster?.clusterArn ?? ""));
    const gone = await errorOf(ecs.send(new DeleteClusterCommand({ cluster: "demo" })));
    assert.deepEqual(gone, {
      name: "ClusterNotFoundException",
      message: "Cluster not found.",
      status: 400,
    });
  });

  it("pages through clusters", async () => {
    for (let i = 0; i < 5; i++)
      await ecs.send(new CreateClusterCommand({ clusterName: `page-${i}` }));
    const seen: string[] = [];
    let nextToken: string | undefined;
    let pages = 0;
    do {
      const page = await ecs.send(new ListClustersCommand({ maxResults: 2, nextToken }));
      assert.ok((page.clusterArns?.length ?? 0) <= 2);
      seen.push(...(page.clusterArns ?? []));
      nextToken = page.nextToken;
      pages++;
    } while (nextToken !== undefined);
    assert.equal(new Set(seen).size, seen.length, "no cluster twice");
    for (let i = 0; i < 5; i++) assert.ok(seen.some((arn) => arn.endsWith(`/page-${i}`)));
    assert.ok(pages >= 3);
    const bad = await errorOf(ecs.send(new ListClustersCommand({ nextToken: "garbage!" })));
    assert.equal(bad.name, "InvalidParameterException");
  });
});

describe("task definitions", () => {
  it("counts revisions up per family", async () => {
    const first = await ecs.send(new RegisterTaskDefinitionCommand(web()));
    const second = await ecs.send(new RegisterTaskDefinitionCommand(web()));
    const other = await ecs.send(new RegisterTaskDefinitionCommand(web("api")));
    assert.equal(first.taskDefinition?.revision, 1);
    assert.equal(second.taskDefinition?.revision, 2);
    assert.equal(other.taskDefinition?.revision, 1);
    assert.equal(
      second.taskDefinition?.taskDefinitionArn,
      "arn:aws:ecs:us-east-1:000000000000:task-definition/web:2",
    );
    assert.deepEqual(second.taskDefinition?.compatibilities, ["EC2", "FARGATE"]);
    assert.equal(second.taskDefinition?.status, "ACTIVE");
    assert.ok(second.taskDefinition?.registeredAt instanceof Date);
    assert.deepEqual(second.taskDefinition?.containerDefinitions?.[0]?.portMappings, [
      { containerPort: 8080, hostPort: 8080, protocol: "tcp" },
    ]);
  });

  it("describes by family, family:revision and ARN", async () => {
    const latest = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: "web" }));
    assert.equal(latest.taskDefinition?.revision, 2);
    const one = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: "web:1" }));
    assert.equal(one.taskDefinition?.revision, 1);
    const byArn = await ecs.send(
      new DescribeTaskDefinitionCommand({
        taskDefinition: "arn:aws:ecs:us-east-1:000000000000:task-definition/web:1",
      }),
    );
    assert.equal(byArn.taskDefinition?.family, "web");
    const missing = await errorOf(
      ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: "web:99" })),
    );
    assert.deepEqual(missing, {
      name: "ClientException",
      message: "Unable to describe task definition.",
      status: 400,
    });
  });

  it("refuses an invalid Fargate size with the ECS message", async () => {
    const refused = await errorOf(
      ecs.send(new RegisterTaskDefinitionCommand({ ...web(), cpu: "300" })),
    );
    assert.equal(refused.name, "ClientException");
    assert.match(refused.message, /^Invalid 'cpu' setting for task\./);
  });

  it("lists, sorts and pages task definitions and families", async () => {
    for (let i = 0; i < 3; i++) await ecs.send(new RegisterTaskDefinitionCommand(web("listing")));
    const asc = await ecs.send(new ListTaskDefinitionsCommand({ familyPrefix: "listing" }));
    assert.deepEqual(
      asc.taskDefinitionArns?.map((arn) => arn.split("/")[1]),
      ["listing:1", "listing:2", "listing:3"],
    );
    const desc = await ecs.send(
      new ListTaskDefinitionsCommand({ familyPrefix: "listing", sort: "DESC", maxResults: 2 }),
    );
    assert.deepEqual(
      desc.taskDefinitionArns?.map((arn) => arn.split("/")[1]),
      ["listing:3", "listing:2"],
    );
    const rest = await ecs.send(
      new ListTaskDefinitionsCommand({
        familyPrefix: "listing",
        sort: "DESC",
        maxResults: 2,
        nextToken: desc.nextToken,
      }),
    );
    assert.deepEqual(
      rest.taskDefinitionArns?.map((arn) => arn.split("/")[1]),
      ["listing:1"],
    );
    assert.equal(rest.nextToken, undefined);
    const families = await ecs.send(new ListTaskDefinitionFamiliesCommand({ familyPrefix: "li" }));
    assert.deepEqual(families.families, ["listing"]);
  });

  it("deregisters, then deletes, as ECS orders it", async () => {
    await ecs.send(new RegisterTaskDefinitionCommand(web("retire")));
    const early = await ecs.send(
      new DeleteTaskDefinitionsCommand({ taskDefinitions: ["retire:1"] }),
    );
    assert.equal(early.taskDefinitions?.length, 0);
    assert.match(early.failures?.[0]?.reason ?? "", /still in ACTIVE status/);

    const noRevision = await errorOf(
      ecs.send(new DeregisterTaskDefinitionCommand({ taskDefinition: "retire" })),
    );
    assert.deepEqual(noRevision, {
      name: "ClientException",
      message: "Revision is missing.",
      status: 400,
    });
    const gone = await ecs.send(
      new DeregisterTaskDefinitionCommand({ taskDefinition: "retire:1" }),
    );
    assert.equal(gone.taskDefinition?.status, "INACTIVE");
    assert.ok(gone.taskDefinition?.deregisteredAt instanceof Date);
    const inactive = await ecs.send(
      new ListTaskDefinitionsCommand({ familyPrefix: "retire", status: "INACTIVE" }),
    );
    assert.equal(inactive.taskDefinitionArns?.length, 1);
    const families = await ecs.send(
      new ListTaskDefinitionFamiliesCommand({ familyPrefix: "retire", status: "INACTIVE" }),
    );
    assert.deepEqual(families.families, ["retire"]);

    const deleted = await ecs.send(
      new DeleteTaskDefinitionsCommand({ taskDefinitions: ["retire:1", "retire:7"] }),
    );
    assert.equal(deleted.taskDefinitions?.[0]?.status, "DELETE_IN_PROGRESS");
    assert.match(deleted.failures?.[0]?.reason ?? "", /does not exist/);
    const described = await errorOf(
      ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: "retire:1" })),
    );
    assert.equal(described.name, "ClientException");
    const next = await ecs.send(new RegisterTaskDefinitionCommand(web("retire")));
    assert.equal(next.taskDefinition?.revision, 2, "a deleted revision number is never reused");
  });
});

describe("tags", () => {
  it("tags, lists and untags clusters and task definitions", async () => {
    const { taskDefinition } = await ecs.send(
      new RegisterTaskDefinitionCommand({ ...web("tagged"), tags: [{ key: "team", value: "a" }] }),
    );
    const arn = taskDefinition?.taskDefinitionArn ?? "";
    await ecs.send(
      new TagResourceCommand({
        resourceArn: arn,
        tags: [
          { key: "env", value: "prod" },
          { key: "team", value: "b" },
        ],
      }),
    );
    const listed = await ecs.send(new ListTagsForResourceCommand({ resourceArn: arn }));
    assert.deepEqual(listed.tags, [
      { key: "env", value: "prod" },
      { key: "team", value: "b" },
    ]);
    await ecs.send(new UntagResourceCommand({ resourceArn: arn, tagKeys: ["team"] }));
    const described = await ecs.send(
      new DescribeTaskDefinitionCommand({ taskDefinition: arn, include: ["TAGS"] }),
    );
    assert.deepEqual(described.tags, [{ key: "env", value: "prod" }]);

    const missing = await errorOf(
      ecs.send(
        new TagResourceCommand({
          resourceArn: "arn:aws:ecs:us-east-1:000000000000:cluster/ghost",
          tags: [{ key: "a", value: "b" }],
        }),
      ),
    );
    assert.equal(missing.name, "InvalidParameterException");
    const reserved = await errorOf(
      ecs.send(
        new TagResourceCommand({ resourceArn: arn, tags: [{ key: "aws:owner", value: "me" }] }),
      ),
    );
    assert.equal(reserved.name, "InvalidParameterException");
  });

  it("keeps at most 50 tags and rolls back a TagResource that would exceed it", async () => {
    const { cluster } = await ecs.send(new CreateClusterCommand({ clusterName: "many-tags" }));
    const arn = cluster?.clusterArn ?? "";
    const tags = Array.from({ length: 40 }, (_, i) => ({ key: `k${i}`, value: "v" }));
    await ecs.send(new TagResourceCommand({ resourceArn: arn, tags }));
    const more = Array.from({ length: 11 }, (_, i) => ({ key: `more${i}`, value: "v" }));
    const refused = await errorOf(
      ecs.send(new TagResourceCommand({ resourceArn: arn, tags: more })),
    );
    assert.equal(refused.name, "InvalidParameterException");
    const listed = await ecs.send(new ListTagsForResourceCommand({ resourceArn: arn }));
    assert.equal(listed.tags?.length, 40);
  });
});
