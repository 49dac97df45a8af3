// An image's /etc/passwd that points at the host (issue 12, item 13): the user is resolved in
// the container's root filesystem only, so a host file's fields never become the container's
// uid, gid or HOME.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { resolveInRoot, readInRoot } from "../../../../src/agent/runtime/rootfs-path.js";
import { resolveUser } from "../../../../src/agent/runtime/user.js";

let dir: string;
/** A host file with a user only it has. */
let hostPasswd: string;
const MARKER = "marker:x:4242:4343:host marker:/host-home:/bin/sh\n";

function rootfs(name: string, links: Record<string, string>, files: Record<string, string> = {}) {
  const root = join(dir, name);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(root, path, ".."), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  for (const [path, target] of Object.entries(links)) {
    mkdirSync(join(root, path, ".."), { recursive: true });
    symlinkSync(target, join(root, path));
  }
  return root;
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), "berth-rootfs-path-"));
  mkdirSync(join(dir, "host"));
  hostPasswd = join(dir, "host", "passwd");
  writeFileSync(hostPasswd, MARKER);
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe("an image's /etc/passwd pointing onto the host", () => {
  const attacks: Record<string, () => string> = {
    "an absolute symlink": () => rootfs("absolute", { "etc/passwd": hostPasswd }),
    "a relative symlink climbing out": () =>
      rootfs("relative", { "etc/passwd": `../../../../../../../../..${hostPasswd}` }),
    "a symlinked /etc": () => rootfs("etc-dir", { etc: join(dir, "host") }),
    "a chain of links": () =>
      rootfs("chain", { "etc/passwd": "/a", a: "/b/../../c", c: hostPasswd }),
  };
  for (const [name, make] of Object.entries(attacks)) {
    it(`${name}: the host file's user is not found and its fields are not used`, async () => {
      const root = make();
      await assert.rejects(resolveUser(root, "marker"), { code: "ContainerUserNotFound" });
      assert.deepEqual(await resolveUser(root, "4242"), {
        uid: 4242,
        gid: 0,
        additionalGids: [],
        home: "/",
      });
      assert.equal(await readInRoot(root, "/etc/passwd"), undefined);
    });
  }

  it("the host file really holds the marker (so the attacks above would show)", async () => {
    const root = rootfs("control", {}, { "etc/passwd": MARKER });
    assert.deepEqual(await resolveUser(root, "marker"), {
      uid: 4242,
      gid: 4343,
      additionalGids: [],
      home: "/host-home",
    });
  });

  it("follows links that stay inside the image, as the container would", async () => {
    const root = rootfs(
      "inside",
      { "etc/passwd": "/usr/lib/passwd", "usr/lib/passwd": "../share/passwd" },
      { "usr/share/passwd": "app:x:1000:1000::/home/app:/bin/sh\n" },
    );
    assert.equal(await resolveInRoot(root, "/etc/passwd"), join(root, "usr/share/passwd"));
    assert.deepEqual(await resolveUser(root, "app"), {
      uid: 1000,
      gid: 1000,
      additionalGids: [],
      home: "/home/app",
    });
    // An absolute link resolves in the rootfs, where the host's path does not exist.
    const loop = rootfs("loop", { "etc/passwd": "/etc/passwd" });
    assert.equal(await resolveInRoot(loop, "/etc/passwd"), undefined);
  });
});
