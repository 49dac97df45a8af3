/** Unpacking a layer into overlayfs form: whiteouts as 0:0 devices, opaque dirs as xattrs. */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
  existsSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { describe, it } from "node:test";
import { unpackLayer } from "../../../../src/agent/images/index.js";
import { BerthError } from "../../../../src/core/index.js";
import { makeLayer } from "./registries.js";

describe("unpackLayer", () => {
  it("turns whiteouts into 0:0 character devices and opaque markers into xattrs", async () => {
    const dir = mkdtempSync(join(tmpdir(), "berth-unpack-"));
    try {
      const layer = await makeLayer({
        "etc/.wh.passwd": "",
        "var/cache/.wh..wh..opq": "",
        "var/cache/fresh": "new\n",
        "usr/bin/tool": { content: "#!/bin/sh\n", mode: 0o4755 },
      });
      const blob = join(dir, "layer.tar.gz");
      writeFileSync(blob, layer);
      const snapshot = join(dir, "snapshot");
      await unpackLayer(blob, snapshot, "application/vnd.oci.image.layer.v1.tar+gzip");
      const whiteout = lstatSync(join(snapshot, "etc/passwd"));
      assert.ok(whiteout.isCharacterDevice());
      assert.equal(whiteout.rdev, 0);
      assert.equal(existsSync(join(snapshot, "etc/.wh.passwd")), false);
      const xattr = execFileSync(
        "getfattr",
        ["--only-values", "-n", "trusted.overlay.opaque", join(snapshot, "var/cache")],
        {
          encoding: "utf8",
        },
      );
      assert.equal(xattr, "y");
      assert.equal(existsSync(join(snapshot, "var/cache/.wh..wh..opq")), false);
      assert.equal(readFileSync(join(snapshot, "var/cache/fresh"), "utf8"), "new\n");
      assert.equal(lstatSync(join(snapshot, "usr/bin/tool")).mode & 0o7777, 0o4755);
      assert.equal(existsSync(`${snapshot}.unpacking`), false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("keeps symlinks, hardlinks and FIFOs, drops device nodes, and refuses a layer that escapes its directory", async () => {
    const dir = mkdtempSync(join(tmpdir(), "berth-unpack-"));
    try {
      const src = join(dir, "src");
      execFileSync("sh", [
        "-c",
        `mkdir -p ${src}/bin ${src}/dev && echo hi > ${src}/bin/a && ln ${src}/bin/a ${src}/bin/b && ` +
          `ln -s a ${src}/bin/c && ln -s /etc/shadow ${src}/bin/d && ` +
          `mknod -m 640 ${src}/dev/null2 c 1 3 && mkfifo ${src}/dev/pipe`,
      ]);
      const blob = join(dir, "layer.tar");
      execFileSync("tar", ["--format=posix", "-C", src, "-cf", blob, "bin", "dev"]);
      const snapshot = join(dir, "snapshot");
      await unpackLayer(blob, snapshot, "application/vnd.oci.image.layer.v1.tar");
      assert.equal(lstatSync(join(snapshot, "bin/a")).ino, lstatSync(join(snapshot, "bin/b")).ino);
      assert.equal(readlinkSync(join(snapshot, "bin/c")), "a");
      assert.equal(readlinkSync(join(snapshot, "bin/d")), "/etc/shadow");
      // Device nodes are never made on the host (issue 12, item 2); FIFOs are.
      assert.equal(lstatSync(join(snapshot, "dev/null2"), { throwIfNoEntry: false }), undefined);
      assert.ok(lstatSync(join(snapshot, "dev/pipe")).isFIFO());

      const evil = join(dir, "evil.tar");
      execFileSync("tar", [
        "-C",
        src,
        "-cf",
        evil,
        "-P",
        "--transform",
        "s,^bin/a,../../escaped,",
        "bin/a",
      ]);
      await unpackLayer(
        evil,
        join(dir, "evil-snapshot"),
        "application/vnd.oci.image.layer.v1.tar",
      ).catch(() => undefined);
      assert.equal(existsSync(join(dir, "..", "escaped")), false);
      assert.equal(existsSync(join(dir, "escaped")), false);

      // a link to outside, then a whiteout through it: nothing outside the layer is touched
      mkdirSync(join(dir, "outside"));
      writeFileSync(join(dir, "outside", "x"), "host file\n");
      const linked = join(dir, "linked");
      mkdirSync(join(linked, "lnk"), { recursive: true });
      writeFileSync(join(linked, "lnk", ".wh.x"), "");
      const trick = join(dir, "trick.tar");
      execFileSync("sh", [
        "-c",
        `cd ${dir} && mkdir t && ln -s ${join(dir, "outside")} t/lnk && tar -cf ${trick} -C t lnk && ` +
          `tar -rf ${trick} -C ${linked} lnk/.wh.x`,
      ]);
      await unpackLayer(
        trick,
        join(dir, "trick-snapshot"),
        "application/vnd.oci.image.layer.v1.tar",
      );
      assert.equal(readFileSync(join(dir, "outside", "x"), "utf8"), "host file\n");
      assert.ok(lstatSync(join(dir, "trick-snapshot", "lnk")).isDirectory());

      // a whiteout that points outside the layer is refused, and nothing outside is touched
      writeFileSync(join(dir, "victim"), "keep me\n");
      writeFileSync(join(src, ".wh.victim"), "");
      const sneaky = join(dir, "sneaky.tar");
      execFileSync("tar", [
        "-C",
        src,
        "-cf",
        sneaky,
        "-P",
        "--transform",
        "s,^,../,",
        ".wh.victim",
      ]);
      await assert.rejects(
        unpackLayer(sneaky, join(dir, "sneaky-snapshot"), "application/vnd.oci.image.layer.v1.tar"),
        { code: "LayerUnpackFailed" },
      );
      assert.equal(readFileSync(join(dir, "victim"), "utf8"), "keep me\n");
      assert.equal(existsSync(join(dir, "sneaky-snapshot")), false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it("unpacks a gzip layer of several MiB byte for byte, and keeps nothing of a truncated one", async () => {
    const dir = mkdtempSync(join(tmpdir(), "berth-unpack-"));
    try {
      const big = randomBytes(5 * 1024 * 1024 + 123);
      const layer = await makeLayer({ "data/big": big, "data/small": "s\n" });
      const blob = join(dir, "layer.tar.gz");
      writeFileSync(blob, layer);
      const snapshot = join(dir, "snapshot");
      await unpackLayer(blob, snapshot, "application/vnd.oci.image.layer.v1.tar+gzip");
      assert.ok(readFileSync(join(snapshot, "data/big")).equals(big));
      assert.equal(readFileSync(join(snapshot, "data/small"), "utf8"), "s\n");

      const cut = join(dir, "cut.tar.gz");
      writeFileSync(cut, layer.subarray(0, Math.floor(layer.length / 2)));
      const lost = join(dir, "lost");
      await assert.rejects(
        unpackLayer(cut, lost, "application/vnd.oci.image.layer.v1.tar+gzip"),
        (error: unknown) => error instanceof BerthError && error.code === "LayerUnpackFailed",
      );
      assert.equal(existsSync(lost), false);
      assert.equal(existsSync(`${lost}.unpacking`), false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
