/** Reading conmon's k8s-file log, and resolving a container's user in its own /etc. */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { LogParser } from "../../../../src/agent/runtime/index.js";
import { resolveUser } from "../../../../src/agent/runtime/user.js";
import { makeBusyboxRootfs } from "./fixtures.js";

describe("LogParser", () => {
  it("parses records, joins partial lines per stream, and waits for whole records", () => {
    const parser = new LogParser();
    const first = parser.push(
      "2024-01-01T00:00:00.000000001+00:00 stdout P hel\n" +
        "2024-01-01T00:00:00.000000002+00:00 stderr F oops\n" +
        "2024-01-01T00:00:00.000000003+00:00 stdout F lo\n" +
        "2024-01-01T00:00:00.000000004+00:00 stdout F ",
    );
    assert.deepEqual(first, [
      { stream: "stderr", time: "2024-01-01T00:00:00.000000002+00:00", text: "oops" },
      { stream: "stdout", time: "2024-01-01T00:00:00.000000003+00:00", text: "hello" },
    ]);
    assert.deepEqual(parser.push("tail with spaces \n"), [
      { stream: "stdout", time: "2024-01-01T00:00:00.000000004+00:00", text: "tail with spaces " },
    ]);
    assert.deepEqual(parser.push("2024-01-01T00:00:00.000000005+00:00 stdout F\n")[0]?.text, "");
  });

  it("gives a last line without its newline once the writer is done", () => {
    const parser = new LogParser();
    assert.deepEqual(
      parser.push(
        '2024-01-01T00:00:00.000000001+00:00 stdout P {"no":\n' +
          '2024-01-01T00:00:00.000000002+00:00 stdout P "newline"}\n',
      ),
      [],
    );
    assert.deepEqual(parser.end(), [
      { stream: "stdout", time: "2024-01-01T00:00:00.000000001+00:00", text: '{"no":"newline"}' },
    ]);
    assert.deepEqual(parser.end(), []);
  });
});

describe("resolveUser", () => {
  it("resolves names, numbers and groups as Docker does", async () => {
    const dir = mkdtempSync(join(tmpdir(), "berth-user-"));
    try {
      const rootfs = makeBusyboxRootfs(join(dir, "rootfs"));
      assert.deepEqual(await resolveUser(rootfs, undefined), {
        uid: 0,
        gid: 0,
        additionalGids: [],
        home: "/root",
      });
      assert.deepEqual(await resolveUser(rootfs, "app"), {
        uid: 1000,
        gid: 1000,
        additionalGids: [2000],
        home: "/home/app",
      });
      assert.deepEqual(await resolveUser(rootfs, "app:nogroup"), {
        uid: 1000,
        gid: 65534,
        additionalGids: [2000],
        home: "/home/app",
      });
      assert.deepEqual(await resolveUser(rootfs, "4242:7"), {
        uid: 4242,
        gid: 7,
        additionalGids: [],
        home: "/",
      });
      assert.deepEqual((await resolveUser(rootfs, "1000")).gid, 1000);
      await assert.rejects(resolveUser(rootfs, "ghost"), { code: "ContainerUserNotFound" });
      await assert.rejects(resolveUser(rootfs, "app:ghosts"), { code: "ContainerUserNotFound" });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
