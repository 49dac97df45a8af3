/** Protobuf request bodies: what kubectl 1.32 sends for `create namespace` decodes as JSON would. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseObject } from "../../../src/kube/http.js";

// Captured from `/usr/bin/kubectl create namespace other` (v1.32) against a recording server.
const KUBECTL_CREATE_NAMESPACE = Buffer.from(
  "azhzAAoPCgJ2MRIJTmFtZXNwYWNlEh0KFQoFb3RoZXISABoAIgAqADIAOABCABIAGgIKABoAIgA=",
  "base64",
);
const PROTOBUF = "application/vnd.kubernetes.protobuf";

describe("protobuf bodies", () => {
  it("decode kubectl's Namespace into the JSON shape, zero values left out", () => {
    assert.deepEqual(parseObject(KUBECTL_CREATE_NAMESPACE, PROTOBUF), {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: "other" },
      spec: {},
      status: {},
    });
  });

  it("refuse a kind Berth does not decode with a 415, and garbage with a 400", () => {
    const pod = Buffer.from(KUBECTL_CREATE_NAMESPACE);
    // "Namespace" -> "Namespacf": a kind with no schema.
    pod[pod.indexOf("Namespace") + 8] = 0x66;
    assert.throws(
      () => parseObject(pod, PROTOBUF),
      (e: Error & { code?: string; status?: number }) =>
        e.code === "UnsupportedMediaType" && e.status === 415,
    );
    assert.throws(
      () => parseObject(KUBECTL_CREATE_NAMESPACE.subarray(0, 20), PROTOBUF),
      (e: Error & { code?: string }) => e.code === "BadRequest",
    );
    assert.throws(
      () => parseObject(Buffer.from("not k8s"), PROTOBUF),
      (e: Error & { code?: string }) => e.code === "UnsupportedMediaType",
    );
  });
});
