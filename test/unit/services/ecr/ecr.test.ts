/** The ECR API through the AWS SDK, against a registry pushed to over /v2/. */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  BatchCheckLayerAvailabilityCommand,
  BatchDeleteImageCommand,
  BatchGetImageCommand,
  CreateRepositoryCommand,
  DeleteLifecyclePolicyCommand,
  DeleteRepositoryCommand,
  DeleteRepositoryPolicyCommand,
  DescribeImagesCommand,
  DescribeRegistryCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  GetAuthorizationTokenCommand,
  GetLifecyclePolicyCommand,
  GetLifecyclePolicyPreviewCommand,
  GetRepositoryPolicyCommand,
  ListImagesCommand,
  ListTagsForResourceCommand,
  PutImageCommand,
  PutImageScanningConfigurationCommand,
  PutImageTagMutabilityCommand,
  PutLifecyclePolicyCommand,
  SetRepositoryPolicyCommand,
  StartLifecyclePolicyPreviewCommand,
  TagResourceCommand,
  UntagResourceCommand,
} from "@aws-sdk/client-ecr";
import { errorCode, startTestRegistry, type TestRegistry } from "../../registry/test-registry.js";
import { rejectsWith } from "../../../../src/testing/index.js";

let t: TestRegistry;
let ecr: ECRClient;
const DAY = 24 * 60 * 60 * 1000;

before(async () => {
  t = await startTestRegistry();
  ecr = new ECRClient(t.clientConfig);
});
after(async () => {
  ecr.destroy();
  await t.close();
});

/** Sets when an image was pushed, so age-based rules have something to act on. */
async function pushedDaysAgo(repository: string, digest: string, days: number): Promise<void> {
  await t.store
    .updateTable("registry_manifests")
    .set({ pushed_at: Date.now() - days * DAY })
    .where("repository", "=", repository)
    .where("digest", "=", digest)
    .execute();
}

describe("repositories", () => {
  it("creates a repository with its URI, settings and tags, and refuses a second of that name", async () => {
    const created = await ecr.send(
      new CreateRepositoryCommand({
        repositoryName: "team/web",
        imageTagMutability: "IMMUTABLE",
        imageScanningConfiguration: { scanOnPush: true },
        encryptionConfiguration: { encryptionType: "KMS", kmsKey: "alias/mine" },
        tags: [{ Key: "env", Value: "test" }],
      }),
    );
    const repo = created.repository;
    assert.equal(repo?.repositoryUri, `${t.host}/team/web`);
    assert.equal(repo?.repositoryArn, "arn:aws:ecr:us-east-1:000000000000:repository/team/web");
    assert.equal(repo?.registryId, "000000000000");
    assert.equal(repo?.imageTagMutability, "IMMUTABLE");
    assert.deepEqual(repo?.imageScanningConfiguration, { scanOnPush: true });
    assert.deepEqual(repo?.encryptionConfiguration, {
      encryptionType: "KMS",
      kmsKey: "alias/mine",
    });
    assert.ok(repo?.createdAt instanceof Date);
    await rejectsWith(
      ecr.send(new CreateRepositoryCommand({ repositoryName: "team/web" })),
      "RepositoryAlreadyExistsException",
    );
    await rejectsWith(
      ecr.send(new CreateRepositoryCommand({ repositoryName: "Bad_Name" })),
      "InvalidParameterException",
    );
    const arn = repo?.repositoryArn ?? "";
    const tags = await ecr.send(new ListTagsForResourceCommand({ resourceArn: arn }));
    assert.deepEqual(tags.tags, [{ Key: "env", Value: "test" }]);
    await ecr.send(
      new TagResourceCommand({ resourceArn: arn, tags: [{ Key: "team", Value: "a" }] }),
    );
    await ecr.send(new UntagResourceCommand({ resourceArn: arn, tagKeys: ["env"] }));
    const after = await ecr.send(new ListTagsForResourceCommand({ resourceArn: arn }));
    assert.deepEqual(after.tags, [{ Key: "team", Value: "a" }]);
  });

  it("describes repositories by name, all of them, and in pages", async () => {
    for (const name of ["list-a", "list-b", "list-c"])
      await ecr.send(new CreateRepositoryCommand({ repositoryName: name }));
    const named = await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ["list-b"] }));
    assert.deepEqual(
      named.repositories?.map((r) => r.repositoryName),
      ["list-b"],
    );
    await rejectsWith(
      ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ["absent"] })),
      "RepositoryNotFoundException",
    );
    const first = await ecr.send(new DescribeRepositoriesCommand({ maxResults: 2 }));
    assert.equal(first.repositories?.length, 2);
    assert.ok(first.nextToken);
    const rest = await ecr.send(new DescribeRepositoriesCommand({ nextToken: first.nextToken }));
    const names = [...(first.repositories ?? []), ...(rest.repositories ?? [])].map(
      (r) => r.repositoryName,
    );
    for (const name of ["list-a", "list-b", "list-c"]) assert.ok(names.includes(name));
  });

  it("keeps repository policies and the scanning setting", async () => {
    await ecr.send(new CreateRepositoryCommand({ repositoryName: "policed" }));
    await rejectsWith(
      ecr.send(new GetRepositoryPolicyCommand({ repositoryName: "policed" })),
      "RepositoryPolicyNotFoundException",
    );
    const policyText = JSON.stringify({
      Version: "2012-10-17",
      Statement: [{ Sid: "pull", Effect: "Allow", Principal: "*", Action: ["ecr:BatchGetImage"] }],
    });
    const set = await ecr.send(
      new SetRepositoryPolicyCommand({ repositoryName: "policed", policyText }),
    );
    assert.equal(set.policyText, policyText);
    const got = await ecr.send(new GetRepositoryPolicyCommand({ repositoryName: "policed" }));
    assert.equal(got.policyText, policyText);
    await rejectsWith(
      ecr.send(new SetRepositoryPolicyCommand({ repositoryName: "policed", policyText: "nope" })),
      "InvalidParameterException",
    );
    const scanning = await ecr.send(
      new PutImageScanningConfigurationCommand({
        repositoryName: "policed",
        imageScanningConfiguration: { scanOnPush: true },
      }),
    );
    assert.deepEqual(scanning.imageScanningConfiguration, { scanOnPush: true });
    const described = await ecr.send(
      new DescribeRepositoriesCommand({ repositoryNames: ["policed"] }),
    );
    assert.deepEqual(described.repositories?.[0]?.imageScanningConfiguration, { scanOnPush: true });
    const deleted = await ecr.send(
      new DeleteRepositoryPolicyCommand({ repositoryName: "policed" }),
    );
    assert.equal(deleted.policyText, policyText);
    await rejectsWith(
      ecr.send(new GetRepositoryPolicyCommand({ repositoryName: "policed" })),
      "RepositoryPolicyNotFoundException",
    );
  });

  it("describes the registry", async () => {
    const registry = await ecr.send(new DescribeRegistryCommand({}));
    assert.equal(registry.registryId, "000000000000");
    assert.deepEqual(registry.replicationConfiguration, { rules: [] });
  });

  it("deletes an empty repository, refuses a full one unless forced", async () => {
    await ecr.send(new CreateRepositoryCommand({ repositoryName: "doomed" }));
    await t.pushImage("doomed", "v1", "doomed");
    await rejectsWith(
      ecr.send(new DeleteRepositoryCommand({ repositoryName: "doomed" })),
      "RepositoryNotEmptyException",
    );
    const deleted = await ecr.send(
      new DeleteRepositoryCommand({ repositoryName: "doomed", force: true }),
    );
    assert.equal(deleted.repository?.repositoryName, "doomed");
    assert.equal(await errorCode(await t.request("/v2/doomed/tags/list")), "NAME_UNKNOWN");
    await rejectsWith(
      ecr.send(new DeleteRepositoryCommand({ repositoryName: "doomed" })),
      "RepositoryNotFoundException",
    );
  });
});

describe("GetAuthorizationToken", () => {
  it("hands out base64(AWS:password) valid 12 hours that the registry accepts", async () => {
    const answer = await ecr.send(new GetAuthorizationTokenCommand({}));
    const data = answer.authorizationData?.[0];
    assert.equal(data?.proxyEndpoint, t.url);
    const expires = data?.expiresAt?.getTime() ?? 0;
    assert.ok(Math.abs(expires - Date.now() - 12 * 60 * 60 * 1000) < 60_000);
    const decoded = Buffer.from(data?.authorizationToken ?? "", "base64").toString();
    assert.match(decoded, /^AWS:.+/);
    const ok = await fetch(`${t.url}/v2/`, {
      headers: { authorization: `Basic ${data?.authorizationToken ?? ""}` },
    });
    assert.equal(ok.status, 200);
  });
});

describe("images", () => {
  const repo = "images";
  let tagged: string;
  let untagged: string;

  before(async () => {
    await ecr.send(new CreateRepositoryCommand({ repositoryName: repo }));
    tagged = await t.pushImage(repo, "v1", "one");
    await t.pushManifest(
      repo,
      "latest",
      JSON.parse((await t.registry.blobs.read(tagged)).toString()),
    );
    untagged = await t.pushImage(repo, undefined, "two");
  });

  it("lists and describes images with tags, sizes, push times and media types", async () => {
    const listed = await ecr.send(new ListImagesCommand({ repositoryName: repo }));
    assert.deepEqual(
      listed.imageIds?.map((i) => `${i.imageDigest ?? ""}:${i.imageTag ?? "-"}`).sort(),
      [`${tagged}:latest`, `${tagged}:v1`, `${untagged}:-`].sort(),
    );
    const onlyTagged = await ecr.send(
      new ListImagesCommand({ repositoryName: repo, filter: { tagStatus: "TAGGED" } }),
    );
    assert.equal(onlyTagged.imageIds?.length, 2);
    const described = await ecr.send(new DescribeImagesCommand({ repositoryName: repo }));
    const detail = described.imageDetails?.find((d) => d.imageDigest === tagged);
    assert.deepEqual(detail?.imageTags, ["latest", "v1"]);
    assert.equal(detail?.imageManifestMediaType, "application/vnd.oci.image.manifest.v1+json");
    assert.equal(detail?.artifactMediaType, "application/vnd.oci.image.config.v1+json");
    const manifest = JSON.parse((await t.registry.blobs.read(tagged)).toString()) as {
      config: { size: number };
      layers: Array<{ size: number }>;
    };
    assert.equal(detail?.imageSizeInBytes, manifest.config.size + (manifest.layers[0]?.size ?? 0));
    assert.ok(detail?.imagePushedAt instanceof Date);
    const untaggedOnly = await ecr.send(
      new DescribeImagesCommand({ repositoryName: repo, filter: { tagStatus: "UNTAGGED" } }),
    );
    assert.deepEqual(
      untaggedOnly.imageDetails?.map((d) => d.imageDigest),
      [untagged],
    );
    const byId = await ecr.send(
      new DescribeImagesCommand({ repositoryName: repo, imageIds: [{ imageTag: "v1" }] }),
    );
    assert.equal(byId.imageDetails?.[0]?.imageDigest, tagged);
    await rejectsWith(
      ecr.send(
        new DescribeImagesCommand({ repositoryName: repo, imageIds: [{ imageTag: "nope" }] }),
      ),
      "ImageNotFoundException",
    );
    await rejectsWith(
      ecr.send(new ListImagesCommand({ repositoryName: "absent" })),
      "RepositoryNotFoundException",
    );
  });

  it("gets manifests byte for byte, reporting what is missing", async () => {
    const got = await ecr.send(
      new BatchGetImageCommand({
        repositoryName: repo,
        imageIds: [{ imageTag: "v1" }, { imageTag: "gone" }],
      }),
    );
    assert.equal(got.images?.[0]?.imageManifest, (await t.registry.blobs.read(tagged)).toString());
    assert.equal(got.images?.[0]?.imageId?.imageDigest, tagged);
    assert.equal(got.failures?.[0]?.failureCode, "ImageNotFound");
  });

  it("checks layer availability", async () => {
    const manifest = JSON.parse((await t.registry.blobs.read(tagged)).toString()) as {
      layers: Array<{ digest: string }>;
    };
    const layer = manifest.layers[0]?.digest ?? "";
    const missing = `sha256:${"0".repeat(64)}`;
    const answer = await ecr.send(
      new BatchCheckLayerAvailabilityCommand({
        repositoryName: repo,
        layerDigests: [layer, missing],
      }),
    );
    assert.equal(answer.layers?.[0]?.layerAvailability, "AVAILABLE");
    assert.equal(answer.failures?.[0]?.failureCode, "MissingLayerDigest");
  });

  it("deletes by tag (the image goes with its last tag) and by digest, reporting failures", async () => {
    const untag = await ecr.send(
      new BatchDeleteImageCommand({ repositoryName: repo, imageIds: [{ imageTag: "latest" }] }),
    );
    assert.deepEqual(untag.imageIds, [{ imageDigest: tagged, imageTag: "latest" }]);
    assert.equal((await t.request(`/v2/${repo}/manifests/v1`)).status, 200);
    const last = await ecr.send(
      new BatchDeleteImageCommand({ repositoryName: repo, imageIds: [{ imageTag: "v1" }] }),
    );
    assert.deepEqual(last.imageIds, [{ imageDigest: tagged, imageTag: "v1" }]);
    assert.equal(
      await errorCode(await t.request(`/v2/${repo}/manifests/${tagged}`)),
      "MANIFEST_UNKNOWN",
    );
    const byDigest = await ecr.send(
      new BatchDeleteImageCommand({
        repositoryName: repo,
        imageIds: [{ imageDigest: untagged }, { imageTag: "never" }, { imageDigest: "bad" }],
      }),
    );
    assert.deepEqual(byDigest.imageIds, [{ imageDigest: untagged }]);
    assert.deepEqual(
      byDigest.failures?.map((f) => f.failureCode),
      ["ImageNotFound", "InvalidImageDigest"],
    );
    const left = await ecr.send(new ListImagesCommand({ repositoryName: repo }));
    assert.deepEqual(left.imageIds, []);
  });

  it("retags with BatchGetImage and PutImage, refusing what ECR refuses", async () => {
    await ecr.send(new CreateRepositoryCommand({ repositoryName: "retag" }));
    const digest = await t.pushImage("retag", "v1", "retag");
    const got = await ecr.send(
      new BatchGetImageCommand({ repositoryName: "retag", imageIds: [{ imageTag: "v1" }] }),
    );
    const manifest = got.images?.[0]?.imageManifest ?? "";
    const put = await ecr.send(
      new PutImageCommand({ repositoryName: "retag", imageManifest: manifest, imageTag: "stable" }),
    );
    assert.deepEqual(put.image?.imageId, { imageDigest: digest, imageTag: "stable" });
    const head = await t.request("/v2/retag/manifests/stable", { method: "HEAD" });
    assert.equal(head.headers.get("docker-content-digest"), digest);
    await rejectsWith(
      ecr.send(
        new PutImageCommand({
          repositoryName: "retag",
          imageManifest: manifest,
          imageTag: "stable",
        }),
      ),
      "ImageAlreadyExistsException",
    );
    await rejectsWith(
      ecr.send(
        new PutImageCommand({
          repositoryName: "retag",
          imageManifest: manifest,
          imageDigest: `sha256:${"1".repeat(64)}`,
        }),
      ),
      "ImageDigestDoesNotMatchException",
    );
    const missingLayer = JSON.stringify({
      ...JSON.parse(manifest),
      layers: [
        {
          mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
          digest: `sha256:${"2".repeat(64)}`,
          size: 1,
        },
      ],
    });
    await rejectsWith(
      ecr.send(
        new PutImageCommand({
          repositoryName: "retag",
          imageManifest: missingLayer,
          imageTag: "x",
        }),
      ),
      "LayersNotFoundException",
    );
  });

  it("refuses to move a tag once the repository is IMMUTABLE", async () => {
    await ecr.send(new CreateRepositoryCommand({ repositoryName: "frozen" }));
    await t.pushImage("frozen", "v1", "first");
    const set = await ecr.send(
      new PutImageTagMutabilityCommand({
        repositoryName: "frozen",
        imageTagMutability: "IMMUTABLE",
      }),
    );
    assert.equal(set.imageTagMutability, "IMMUTABLE");
    await assert.rejects(t.pushImage("frozen", "v1", "second"), /TAG_INVALID/);
    await t.pushImage("frozen", "v2", "second");
    const tags = (await (await t.request("/v2/frozen/tags/list")).json()) as { tags: string[] };
    assert.deepEqual(tags.tags, ["v1", "v2"]);
  });
});

describe("tag mutability with exclusion filters (issue 13 #24)", () => {
  it("keeps IMMUTABLE_WITH_EXCLUSION's matching tags movable and the rest fixed", async () => {
    const { repository } = await ecr.send(
      new CreateRepositoryCommand({
        repositoryName: "excluded",
        imageTagMutability: "IMMUTABLE_WITH_EXCLUSION",
        imageTagMutabilityExclusionFilters: [{ filterType: "WILDCARD", filter: "dev-*" }],
      }),
    );
    assert.equal(repository?.imageTagMutability, "IMMUTABLE_WITH_EXCLUSION");
    assert.deepEqual(repository?.imageTagMutabilityExclusionFilters, [
      { filterType: "WILDCARD", filter: "dev-*" },
    ]);
    await t.pushImage("excluded", "dev-1", "first");
    await t.pushImage("excluded", "dev-1", "second");
    await t.pushImage("excluded", "v1", "first");
    await assert.rejects(t.pushImage("excluded", "v1", "second"), /TAG_INVALID/);
    const described = await ecr.send(
      new DescribeRepositoriesCommand({ repositoryNames: ["excluded"] }),
    );
    assert.deepEqual(described.repositories?.[0]?.imageTagMutabilityExclusionFilters, [
      { filterType: "WILDCARD", filter: "dev-*" },
    ]);
  });

  it("makes MUTABLE_WITH_EXCLUSION's matching tags fixed, and pairs filters with the setting", async () => {
    await ecr.send(new CreateRepositoryCommand({ repositoryName: "pinned" }));
    const set = await ecr.send(
      new PutImageTagMutabilityCommand({
        repositoryName: "pinned",
        imageTagMutability: "MUTABLE_WITH_EXCLUSION",
        imageTagMutabilityExclusionFilters: [{ filterType: "WILDCARD", filter: "release-*" }],
      }),
    );
    assert.equal(set.imageTagMutability, "MUTABLE_WITH_EXCLUSION");
    await t.pushImage("pinned", "latest", "first");
    await t.pushImage("pinned", "latest", "second");
    await t.pushImage("pinned", "release-1", "first");
    await assert.rejects(t.pushImage("pinned", "release-1", "second"), /TAG_INVALID/);
    // Filters without an exclusion setting, an exclusion setting without filters, a bad filter.
    for (const input of [
      {
        imageTagMutability: "MUTABLE" as const,
        imageTagMutabilityExclusionFilters: [{ filterType: "WILDCARD" as const, filter: "x*" }],
      },
      { imageTagMutability: "IMMUTABLE_WITH_EXCLUSION" as const },
      {
        imageTagMutability: "IMMUTABLE_WITH_EXCLUSION" as const,
        imageTagMutabilityExclusionFilters: [{ filterType: "WILDCARD" as const, filter: "a b" }],
      },
    ])
      await rejectsWith(
        ecr.send(new PutImageTagMutabilityCommand({ repositoryName: "pinned", ...input })),
        "InvalidParameterException",
      );
    // Back to plain MUTABLE: the filters go with the setting.
    const plain = await ecr.send(
      new PutImageTagMutabilityCommand({ repositoryName: "pinned", imageTagMutability: "MUTABLE" }),
    );
    assert.equal(plain.imageTagMutabilityExclusionFilters, undefined);
    await t.pushImage("pinned", "release-1", "third");
  });
});

describe("lifecycle policies", () => {
  const repo = "cycled";
  const keepTwoProd = JSON.stringify({
    rules: [
      {
        rulePriority: 1,
        description: "keep two prod images",
        selection: {
          tagStatus: "tagged",
          tagPrefixList: ["prod"],
          countType: "imageCountMoreThan",
          countNumber: 2,
        },
        action: { type: "expire" },
      },
      {
        rulePriority: 2,
        selection: {
          tagStatus: "untagged",
          countType: "sinceImagePushed",
          countUnit: "days",
          countNumber: 7,
        },
        action: { type: "expire" },
      },
    ],
  });
  const digests: Record<string, string> = {};

  before(async () => {
    await ecr.send(new CreateRepositoryCommand({ repositoryName: repo }));
    for (const [name, tag, days] of [
      ["prod1", "prod-1", 5],
      ["prod2", "prod-2", 4],
      ["prod3", "prod-3", 3],
      ["dev", "dev-1", 30],
      ["oldUntagged", undefined, 10],
      ["newUntagged", undefined, 1],
    ] as const) {
      digests[name] = await t.pushImage(repo, tag, name);
      await pushedDaysAgo(repo, digests[name] ?? "", days);
    }
  });

  async function remaining(): Promise<string[]> {
    const listed = await ecr.send(new ListImagesCommand({ repositoryName: repo }));
    const names = Object.entries(digests)
      .filter(([, digest]) => listed.imageIds?.some((i) => i.imageDigest === digest))
      .map(([name]) => name);
    return names.sort();
  }

  it("previews what a policy would expire, once a preview was started", async () => {
    await rejectsWith(
      ecr.send(new GetLifecyclePolicyPreviewCommand({ repositoryName: repo })),
      "LifecyclePolicyPreviewNotFoundException",
    );
    const started = await ecr.send(
      new StartLifecyclePolicyPreviewCommand({
        repositoryName: repo,
        lifecyclePolicyText: keepTwoProd,
      }),
    );
    assert.equal(started.status, "IN_PROGRESS");
    const preview = await ecr.send(new GetLifecyclePolicyPreviewCommand({ repositoryName: repo }));
    assert.equal(preview.status, "COMPLETE");
    assert.equal(preview.summary?.expiringImageTotalCount, 2);
    const expiring = preview.previewResults?.map((r) => [
      r.imageDigest,
      r.appliedRulePriority,
      r.action?.type,
    ]);
    assert.deepEqual(
      expiring?.sort(),
      [
        [digests.prod1, 1, "EXPIRE"],
        [digests.oldUntagged, 2, "EXPIRE"],
      ].sort(),
    );
    assert.equal((await remaining()).length, 6);
  });

  it("deletes exactly what the rules say as soon as the policy is put, and after every push", async () => {
    await rejectsWith(
      ecr.send(new GetLifecyclePolicyCommand({ repositoryName: repo })),
      "LifecyclePolicyNotFoundException",
    );
    await ecr.send(
      new PutLifecyclePolicyCommand({ repositoryName: repo, lifecyclePolicyText: keepTwoProd }),
    );
    assert.deepEqual(await remaining(), ["dev", "newUntagged", "prod2", "prod3"]);
    const got = await ecr.send(new GetLifecyclePolicyCommand({ repositoryName: repo }));
    assert.equal(got.lifecyclePolicyText, keepTwoProd);
    assert.ok(got.lastEvaluatedAt instanceof Date);

    digests.prod4 = await t.pushImage(repo, "prod-4", "prod4");
    assert.deepEqual(await remaining(), ["dev", "newUntagged", "prod3", "prod4"]);
  });

  it("refuses an invalid policy and deletes a policy", async () => {
    const invalid = JSON.stringify({
      rules: [
        {
          rulePriority: 1,
          selection: { tagStatus: "tagged", countType: "imageCountMoreThan", countNumber: 1 },
          action: { type: "expire" },
        },
      ],
    });
    await rejectsWith(
      ecr.send(
        new PutLifecyclePolicyCommand({ repositoryName: repo, lifecyclePolicyText: invalid }),
      ),
      "InvalidParameterException",
    );
    const deleted = await ecr.send(new DeleteLifecyclePolicyCommand({ repositoryName: repo }));
    assert.equal(deleted.lifecyclePolicyText, keepTwoProd);
    await rejectsWith(
      ecr.send(new DeleteLifecyclePolicyCommand({ repositoryName: repo })),
      "LifecyclePolicyNotFoundException",
    );
    await t.pushImage(repo, "prod-5", "prod5");
    assert.ok((await remaining()).includes("prod3"));
  });
});

describe("ECR fidelity (issue 13 #24)", () => {
  it("refuses what ECR refuses and fills in what ECR fills in", async () => {
    const { repository } = await ecr.send(
      new CreateRepositoryCommand({
        repositoryName: "fidelity",
        encryptionConfiguration: { encryptionType: "KMS" },
      }),
    );
    // The aws/ecr key's own ARN (a key id, not the alias), one key for the account's region.
    const key = repository?.encryptionConfiguration?.kmsKey ?? "";
    assert.match(
      key,
      /^arn:aws:kms:us-east-1:000000000000:key\/[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    const { repository: second } = await ecr.send(
      new CreateRepositoryCommand({
        repositoryName: "fidelity-two",
        encryptionConfiguration: { encryptionType: "KMS" },
      }),
    );
    assert.equal(second?.encryptionConfiguration?.kmsKey, key);
    // An index whose child image is not in the repository.
    const index = JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: [
        {
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          digest: `sha256:${"a".repeat(64)}`,
          size: 100,
          platform: { architecture: "amd64", os: "linux" },
        },
      ],
    });
    await rejectsWith(
      ecr.send(new PutImageCommand({ repositoryName: "fidelity", imageManifest: index })),
      "ReferencedImagesNotFoundException",
    );
    // A manifest that says nowhere what it is.
    const bare = JSON.stringify({
      schemaVersion: 2,
      config: { digest: `sha256:${"b".repeat(64)}`, size: 2 },
      layers: [],
    });
    await rejectsWith(
      ecr.send(new PutImageCommand({ repositoryName: "fidelity", imageManifest: bare })),
      "InvalidParameterException",
    );
    // A policy statement without Principal or Action.
    for (const statement of [
      { Effect: "Allow", Action: ["ecr:BatchGetImage"] },
      { Effect: "Allow", Principal: "*" },
    ])
      await rejectsWith(
        ecr.send(
          new SetRepositoryPolicyCommand({
            repositoryName: "fidelity",
            policyText: JSON.stringify({ Version: "2012-10-17", Statement: [statement] }),
          }),
        ),
        "InvalidParameterException",
      );
    await ecr.send(
      new SetRepositoryPolicyCommand({
        repositoryName: "fidelity",
        policyText: JSON.stringify({
          Version: "2012-10-17",
          Statement: [{ Effect: "Allow", Principal: "*", Action: ["ecr:BatchGetImage"] }],
        }),
      }),
    );
  });
});
