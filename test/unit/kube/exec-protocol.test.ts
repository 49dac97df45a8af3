/**
 * The remote command protocol's frames as kubectl sends and reads them: stdin, v5's end of
 * stdin (not in v4), resize, and the error channel's Status carrying the exit code.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  chooseProtocol,
  exitStatus,
  parseClientFrame,
} from "../../../src/kube/pods/exec-protocol.js";

const V5 = "v5.channel.k8s.io";
const V4 = "v4.channel.k8s.io";

describe("kubectl exec's WebSocket protocol", () => {
  it("speaks v5 or v4, in the client's order, and nothing else", () => {
    assert.equal(chooseProtocol(V5), V5);
    assert.equal(chooseProtocol(`${V4}, ${V5}`), V4);
    assert.equal(chooseProtocol("base64.channel.k8s.io, channel.k8s.io"), undefined);
    assert.equal(chooseProtocol(undefined), undefined);
  });

  it("reads stdin, the end of stdin (v5 only) and a resize", () => {
    assert.deepEqual(parseClientFrame(V5, Buffer.from("\x00abc")), {
      type: "stdin",
      data: Buffer.from("abc"),
    });
    assert.equal(parseClientFrame(V5, Buffer.of(0)), undefined);
    assert.deepEqual(parseClientFrame(V5, Buffer.of(255, 0)), { type: "stdinEnd" });
    assert.equal(parseClientFrame(V4, Buffer.of(255, 0)), undefined);
    assert.deepEqual(parseClientFrame(V4, Buffer.from('\x04{"Width":120,"Height":40}')), {
      type: "resize",
      cols: 120,
      rows: 40,
    });
    assert.equal(parseClientFrame(V5, Buffer.from('\x04{"Width":0,"Height":0}')), undefined);
    assert.equal(parseClientFrame(V5, Buffer.from("\x04not json")), undefined);
    assert.equal(parseClientFrame(V5, Buffer.from("\x01out")), undefined);
  });

  it("ends with Success, NonZeroExitCode with the code as its cause, or InternalError", () => {
    const decode = (frame: Buffer) => {
      assert.equal(frame[0], 3);
      return JSON.parse(frame.subarray(1).toString("utf8")) as Record<string, unknown>;
    };
    assert.equal(decode(exitStatus(["true"], 0, undefined)).status, "Success");
    const failed = decode(exitStatus(["sh", "-c", "exit 3"], 3, undefined));
    assert.equal(failed.status, "Failure");
    assert.equal(failed.reason, "NonZeroExitCode");
    assert.deepEqual(failed.details, { causes: [{ reason: "ExitCode", message: "3" }] });
    const error = decode(exitStatus(["nosuch"], 127, '"nosuch": executable file not found'));
    assert.equal(error.reason, "InternalError");
    assert.match(String(error.message), /executable file not found/);
  });
});
