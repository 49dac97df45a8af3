/** Image references parsed as Docker parses them. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  formatReference,
  isLoopbackRegistry,
  parseReference,
} from "../../../../src/agent/images/index.js";

const DIGEST = `sha256:${"a".repeat(64)}`;

describe("parseReference", () => {
  it("reads registry, repository, tag and digest", () => {
    assert.deepEqual(parseReference("busybox"), {
      registry: "registry-1.docker.io",
      repository: "library/busybox",
      tag: "latest",
      digest: undefined,
    });
    assert.deepEqual(parseReference("team/app:1.2"), {
      registry: "registry-1.docker.io",
      repository: "team/app",
      tag: "1.2",
      digest: undefined,
    });
    assert.deepEqual(parseReference(`127.0.0.1:4566/a/b:v1@${DIGEST}`), {
      registry: "127.0.0.1:4566",
      repository: "a/b",
      tag: "v1",
      digest: DIGEST,
    });
    assert.deepEqual(parseReference(`localhost/x@${DIGEST}`), {
      registry: "localhost",
      repository: "x",
      tag: undefined,
      digest: DIGEST,
    });
    assert.equal(
      parseReference("000000000000.dkr.ecr.us-east-1.amazonaws.com/web:prod").registry,
      "000000000000.dkr.ecr.us-east-1.amazonaws.com",
    );
    assert.equal(formatReference(parseReference("127.0.0.1:5000/x:y")), "127.0.0.1:5000/x:y");
  });

  it("refuses what is not a reference", () => {
    for (const bad of ["", "UPPER/case", "x@sha256:short", "x:bad tag", "a//b", "-x"]) {
      assert.throws(() => parseReference(bad), { code: "InvalidImageReference" }, bad);
    }
  });

  it("speaks plain HTTP to loopback registries only", () => {
    assert.equal(isLoopbackRegistry("127.0.0.1:4566"), true);
    assert.equal(isLoopbackRegistry("localhost:5000"), true);
    assert.equal(isLoopbackRegistry("[::1]:5000"), true);
    assert.equal(isLoopbackRegistry("registry.example.com"), false);
  });
});
