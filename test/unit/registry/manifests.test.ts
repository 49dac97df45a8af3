/** OCI manifest endpoints: the four manifest kinds, negotiation, referrers, tags, catalog, errors. */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { errorCode, sha256, startTestRegistry, type TestRegistry } from "./test-registry.js";

const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
const DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
const DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";

let t: TestRegistry;
let config: { digest: string; size: number };
let layer: { digest: string; size: number };

before(async () => {
  t = await startTestRegistry();
  for (const name of ["app", "tags", "immutable", "team/app/web"]) await t.createRepository(name);
  await t.registry.updateRepository("immutable", { tagMutability: "IMMUTABLE" });
  const configBytes = Buffer.from('{"architecture":"amd64","os":"linux"}');
  const layerBytes = Buffer.from("layer bytes");
  config = { digest: await t.pushBlob("app", configBytes), size: configBytes.length };
  layer = { digest: await t.pushBlob("app", layerBytes), size: layerBytes.length };
  for (const name of ["immutable", "team/app/web"]) {
    await t.pushBlob(name, configBytes);
    await t.pushBlob(name, layerBytes);
  }
});
after(async () => t.close());

function image(mediaType: string, extra: Record<string, unknown> = {}) {
  const docker = mediaType === DOCKER_MANIFEST;
  return {
    schemaVersion: 2,
    mediaType,
    config: {
      mediaType: docker
        ? "application/vnd.docker.container.image.v1+json"
        : "application/vnd.oci.image.config.v1+json",
      ...config,
    },
    layers: [
      {
        mediaType: docker
          ? "application/vnd.docker.image.rootfs.diff.tar.gzip"
          : "application/vnd.oci.image.layer.v1.tar+gzip",
        ...layer,
      },
    ],
    ...extra,
  };
}

describe("manifests", () => {
  for (const mediaType of [OCI_MANIFEST, DOCKER_MANIFEST]) {
    it(`stores and serves ${mediaType} by tag and by digest`, async () => {
      const { response, digest, bytes } = await t.pushManifest(
        "team/app/web",
        "v1",
        image(mediaType),
      );
      assert.equal(response.status, 201);
      assert.equal(response.headers.get("docker-content-digest"), digest);
      assert.equal(response.headers.get("location"), `/v2/team/app/web/manifests/${digest}`);
      for (const reference of ["v1", digest]) {
        const get = await t.request(`/v2/team/app/web/manifests/${reference}`, {
          headers: { accept: mediaType },
        });
        assert.equal(get.status, 200);
        assert.equal(get.headers.get("content-type"), mediaType);
        assert.equal(get.headers.get("docker-content-digest"), digest);
        assert.deepEqual(Buffer.from(await get.arrayBuffer()), bytes);
        const head = await t.request(`/v2/team/app/web/manifests/${reference}`, { method: "HEAD" });
        assert.equal(head.status, 200);
        assert.equal(head.headers.get("content-length"), String(bytes.length));
      }
    });
  }

  for (const [indexType, childType] of [
    [OCI_INDEX, OCI_MANIFEST],
    [DOCKER_LIST, DOCKER_MANIFEST],
  ] as const) {
    it(`stores ${indexType} and answers a client that cannot take it with the linux/amd64 image`, async () => {
      const child = await t.pushManifest(
        "app",
        sha256(JSON.stringify(image(childType))),
        image(childType),
      );
      assert.equal(child.response.status, 201);
      const index = {
        schemaVersion: 2,
        mediaType: indexType,
        manifests: [
          {
            mediaType: childType,
            digest: child.digest,
            size: child.bytes.length,
            platform: { architecture: "amd64", os: "linux" },
          },
        ],
      };
      const put = await t.pushManifest("app", "multi", index);
      assert.equal(put.response.status, 201);
      const asIndex = await t.request("/v2/app/manifests/multi", {
        headers: { accept: `${indexType}, ${childType}` },
      });
      assert.equal(asIndex.headers.get("content-type"), indexType);
      assert.equal(asIndex.headers.get("docker-content-digest"), put.digest);
      const asImage = await t.request("/v2/app/manifests/multi", {
        headers: { accept: childType },
      });
      assert.equal(asImage.headers.get("content-type"), childType);
      assert.equal(asImage.headers.get("docker-content-digest"), child.digest);
    });
  }

  it("takes a digest reference with its colon percent-encoded", async () => {
    const { digest } = await t.pushManifest("app", "encoded", image(OCI_MANIFEST));
    const get = await t.request(`/v2/app/manifests/${digest.replace(":", "%3A")}`);
    assert.equal(get.status, 200);
    assert.equal(get.headers.get("docker-content-digest"), digest);
  });

  it("refuses a manifest whose blobs are not in the repository with MANIFEST_BLOB_UNKNOWN", async () => {
    const doc = image(OCI_MANIFEST, {
      layers: [
        {
          mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
          digest: sha256("absent"),
          size: 6,
        },
      ],
    });
    const { response } = await t.pushManifest("app", "broken", doc);
    assert.equal(response.status, 400);
    assert.equal(await errorCode(response), "MANIFEST_BLOB_UNKNOWN");
    const get = await t.request("/v2/app/manifests/broken");
    assert.equal(await errorCode(get), "MANIFEST_UNKNOWN");
    // Blobs of another repository do not count either.
    const { response: elsewhere } = await t.pushManifest("tags", "v1", image(OCI_MANIFEST));
    assert.equal(await errorCode(elsewhere), "MANIFEST_BLOB_UNKNOWN");
  });

  it("refuses an index whose manifests are missing with MANIFEST_BLOB_UNKNOWN", async () => {
    const index = {
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [{ mediaType: OCI_MANIFEST, digest: sha256("no such manifest"), size: 10 }],
    };
    const { response } = await t.pushManifest("app", "broken-index", index);
    assert.equal(await errorCode(response), "MANIFEST_BLOB_UNKNOWN");
  });

  it("refuses what does not parse with MANIFEST_INVALID, schema 1 with UNSUPPORTED", async () => {
    const bad = await t.request("/v2/app/manifests/bad", {
      method: "PUT",
      body: "{not json",
      headers: { "content-type": OCI_MANIFEST },
    });
    assert.equal(bad.status, 400);
    assert.equal(await errorCode(bad), "MANIFEST_INVALID");
    const noConfig = await t.pushManifest("app", "bad", {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      layers: [],
    });
    assert.equal(await errorCode(noConfig.response), "MANIFEST_INVALID");
    const mismatch = await t.pushManifest("app", "bad", image(OCI_MANIFEST), DOCKER_MANIFEST);
    assert.equal(await errorCode(mismatch.response), "MANIFEST_INVALID");
    const v1 = await t.pushManifest(
      "app",
      "old",
      { schemaVersion: 1, name: "app", tag: "old", fsLayers: [] },
      "application/vnd.docker.distribution.manifest.v1+prettyjws",
    );
    assert.equal(v1.response.status, 405);
    assert.equal(await errorCode(v1.response), "UNSUPPORTED");
  });

  it("refuses a manifest put by a digest it does not have with DIGEST_INVALID", async () => {
    const { response } = await t.pushManifest("app", sha256("other"), image(OCI_MANIFEST));
    assert.equal(response.status, 400);
    assert.equal(await errorCode(response), "DIGEST_INVALID");
  });

  it("answers MANIFEST_UNKNOWN for unknown tags and digests, NAME_UNKNOWN for unknown repositories", async () => {
    const tag = await t.request("/v2/app/manifests/nope");
    assert.equal(tag.status, 404);
    assert.equal(await errorCode(tag), "MANIFEST_UNKNOWN");
    const digest = await t.request(`/v2/app/manifests/${sha256("nope")}`);
    assert.equal(await errorCode(digest), "MANIFEST_UNKNOWN");
    // A reference that cannot be a tag names no manifest either (GET and HEAD alike).
    for (const method of ["GET", "HEAD"]) {
      const invalid = await t.request("/v2/app/manifests/.invalid-tag", { method });
      assert.equal(invalid.status, 404, method);
      if (method === "GET") assert.equal(await errorCode(invalid), "MANIFEST_UNKNOWN");
    }
    const repo = await t.request("/v2/missing/manifests/latest");
    assert.equal(repo.status, 404);
    assert.equal(await errorCode(repo), "NAME_UNKNOWN");
  });

  it("deletes a tag, or a manifest with all its tags", async () => {
    const { digest } = await t.pushManifest("app", "a", image(OCI_MANIFEST));
    await t.pushManifest("app", "b", image(OCI_MANIFEST));
    assert.equal((await t.request("/v2/app/manifests/a", { method: "DELETE" })).status, 202);
    assert.equal(await errorCode(await t.request("/v2/app/manifests/a")), "MANIFEST_UNKNOWN");
    assert.equal((await t.request("/v2/app/manifests/b")).status, 200);
    assert.equal(
      (await t.request(`/v2/app/manifests/${digest}`, { method: "DELETE" })).status,
      202,
    );
    assert.equal(await errorCode(await t.request("/v2/app/manifests/b")), "MANIFEST_UNKNOWN");
    const again = await t.request(`/v2/app/manifests/${digest}`, { method: "DELETE" });
    assert.equal(await errorCode(again), "MANIFEST_UNKNOWN");
  });

  it("refuses to move a tag in an IMMUTABLE repository, but takes the same manifest again", async () => {
    const first = await t.pushManifest("immutable", "v1", image(OCI_MANIFEST));
    assert.equal(first.response.status, 201);
    const same = await t.pushManifest("immutable", "v1", image(OCI_MANIFEST));
    assert.equal(same.response.status, 201);
    const moved = await t.pushManifest("immutable", "v1", image(DOCKER_MANIFEST));
    assert.equal(moved.response.status, 400);
    assert.equal(await errorCode(moved.response), "TAG_INVALID");
    const get = await t.request("/v2/immutable/manifests/v1");
    assert.equal(get.headers.get("docker-content-digest"), first.digest);
  });
});

describe("referrers", () => {
  it("lists manifests whose subject is a digest, filtered by artifactType, with OCI-Subject on push", async () => {
    const subject = await t.pushManifest("app", "subject", image(OCI_MANIFEST));
    const descriptor = {
      mediaType: OCI_MANIFEST,
      digest: subject.digest,
      size: subject.bytes.length,
    };
    const emptyConfig = Buffer.from("{}");
    const emptyDigest = await t.pushBlob("app", emptyConfig);
    const signature = {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: "application/vnd.example.signature",
      config: { mediaType: "application/vnd.oci.empty.v1+json", digest: emptyDigest, size: 2 },
      layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", ...layer }],
      subject: descriptor,
      annotations: { "org.example.signer": "me" },
    };
    const sbom = {
      ...signature,
      artifactType: "application/vnd.example.sbom",
      annotations: undefined,
    };
    const signed = await t.pushManifest("app", sha256(JSON.stringify(signature)), signature);
    assert.equal(signed.response.status, 201);
    assert.equal(signed.response.headers.get("oci-subject"), subject.digest);
    await t.pushManifest("app", sha256(JSON.stringify(sbom)), sbom);

    const all = await t.request(`/v2/app/referrers/${subject.digest}`);
    assert.equal(all.status, 200);
    assert.equal(all.headers.get("content-type"), OCI_INDEX);
    const body = (await all.json()) as {
      manifests: Array<{ digest: string; artifactType: string; annotations?: unknown }>;
    };
    assert.equal(body.manifests.length, 2);
    const found = body.manifests.find((m) => m.digest === signed.digest);
    assert.equal(found?.artifactType, "application/vnd.example.signature");
    assert.deepEqual(found?.annotations, { "org.example.signer": "me" });

    const filtered = await t.request(
      `/v2/app/referrers/${subject.digest}?artifactType=application/vnd.example.sbom`,
    );
    assert.equal(filtered.headers.get("oci-filters-applied"), "artifactType");
    const only = (await filtered.json()) as { manifests: Array<{ artifactType: string }> };
    assert.deepEqual(
      only.manifests.map((m) => m.artifactType),
      ["application/vnd.example.sbom"],
    );

    const none = await t.request(`/v2/app/referrers/${sha256("nothing refers")}`);
    assert.deepEqual(((await none.json()) as { manifests: unknown[] }).manifests, []);
    const bad = await t.request("/v2/app/referrers/sha256:zz");
    assert.equal(await errorCode(bad), "DIGEST_INVALID");
  });
});

describe("listing", () => {
  it("pages tags with n and last and a Link header", async () => {
    const configBytes = Buffer.from('{"architecture":"amd64","os":"linux"}');
    await t.pushBlob("tags", configBytes);
    await t.pushBlob("tags", Buffer.from("layer bytes"));
    for (const tag of ["c", "a", "e", "b", "d"])
      await t.pushManifest("tags", tag, image(OCI_MANIFEST));
    const all = await t.request("/v2/tags/tags/list");
    assert.deepEqual(await all.json(), { name: "tags", tags: ["a", "b", "c", "d", "e"] });
    const first = await t.request("/v2/tags/tags/list?n=2");
    assert.deepEqual(((await first.json()) as { tags: string[] }).tags, ["a", "b"]);
    assert.equal(first.headers.get("link"), '</v2/tags/tags/list?n=2&last=b>; rel="next"');
    const second = await t.request("/v2/tags/tags/list?n=2&last=b");
    assert.deepEqual(((await second.json()) as { tags: string[] }).tags, ["c", "d"]);
    const last = await t.request("/v2/tags/tags/list?n=2&last=d");
    assert.deepEqual(((await last.json()) as { tags: string[] }).tags, ["e"]);
    assert.equal(last.headers.get("link"), null);
    const unknown = await t.request("/v2/nope/tags/list");
    assert.equal(await errorCode(unknown), "NAME_UNKNOWN");
  });

  it("pages the catalog the same way", async () => {
    const all = (await (await t.request("/v2/_catalog")).json()) as { repositories: string[] };
    assert.deepEqual(all.repositories, ["app", "immutable", "tags", "team/app/web"]);
    const first = await t.request("/v2/_catalog?n=3");
    assert.deepEqual(((await first.json()) as { repositories: string[] }).repositories, [
      "app",
      "immutable",
      "tags",
    ]);
    assert.equal(first.headers.get("link"), '</v2/_catalog?n=3&last=tags>; rel="next"');
    const rest = await t.request("/v2/_catalog?n=3&last=tags");
    assert.deepEqual(((await rest.json()) as { repositories: string[] }).repositories, [
      "team/app/web",
    ]);
  });
});
