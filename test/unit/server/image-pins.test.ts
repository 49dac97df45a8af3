/** Own-registry image tags pinned to their digest at dispatch. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { silentLogger } from "../../../src/core/index.js";
import type { TaskAssignment } from "../../../src/protocol/index.js";
import { ownImageTag, pinImages } from "../../../src/server/image-pins.js";

const HOSTS = ["127.0.0.1:4566"];
const DIGEST = `sha256:${"a".repeat(64)}`;

describe("image pins", () => {
  it("reads the repository and tag of an own-registry image only", () => {
    assert.deepEqual(ownImageTag("127.0.0.1:4566/team/app:v2", HOSTS), {
      repository: "team/app",
      tag: "v2",
    });
    assert.deepEqual(ownImageTag("127.0.0.1:4566/app", HOSTS), {
      repository: "app",
      tag: "latest",
    });
    assert.equal(ownImageTag(`127.0.0.1:4566/app@${DIGEST}`, HOSTS), undefined);
    assert.equal(ownImageTag("public.ecr.aws/app:v2", HOSTS), undefined);
    assert.equal(ownImageTag("busybox", HOSTS), undefined);
  });

  it("pins known tags, leaves unknown tags and other registries to the agent", async () => {
    const asked: string[] = [];
    const registry = {
      resolve: (repository: string, reference: string): Promise<string> => {
        asked.push(`${repository}:${reference}`);
        return reference === "v2"
          ? Promise.resolve(DIGEST)
          : Promise.reject(new Error("MANIFEST_UNKNOWN"));
      },
    };
    const container = (name: string, image: string) =>
      ({ name, image }) as TaskAssignment["containers"][number];
    const assignment = {
      containers: [
        container("a", "127.0.0.1:4566/app:v2"),
        container("b", "127.0.0.1:4566/app:gone"),
        container("c", "docker.io/library/busybox:1"),
      ],
    } as TaskAssignment;
    const pinned = await pinImages(assignment, registry, HOSTS, silentLogger);
    assert.deepEqual(
      pinned.containers.map((c) => [c.image, c.imageDigest]),
      [
        ["127.0.0.1:4566/app:v2", DIGEST],
        ["127.0.0.1:4566/app:gone", undefined],
        ["docker.io/library/busybox:1", undefined],
      ],
    );
    assert.deepEqual(asked, ["app:v2", "app:gone"]);
    assert.equal(assignment.containers[0]?.imageDigest, undefined, "the input is not changed");
  });
});
