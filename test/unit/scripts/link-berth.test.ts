/** `scripts/link-berth.sh`: setup puts `berth` on PATH without taking over another one. */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import {
  mkdtempSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  readFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, test } from "node:test";

const SCRIPT = resolve("scripts/link-berth.sh");
const TARGET = resolve("bin/berth.js");
const root = mkdtempSync(join(tmpdir(), "berth-link-"));
after(() => rmSync(root, { recursive: true, force: true }));

function link(bindir: string): { code: number | null; stderr: string } {
  const result = spawnSync("bash", [SCRIPT, bindir], { encoding: "utf8" });
  return { code: result.status, stderr: result.stderr };
}

test("links BINDIR/berth to this checkout's bin/berth.js, and then leaves it be", () => {
  const bindir = mkdtempSync(join(root, "fresh-"));
  const first = link(bindir);
  assert.equal(first.code, 0);
  assert.equal(readlinkSync(join(bindir, "berth")), TARGET);
  assert.match(first.stderr, /berth is on PATH/);
  const again = link(bindir);
  assert.equal(again.code, 0);
  assert.equal(again.stderr, "");
});

test("a berth that works (another checkout's) is named and left alone", () => {
  const bindir = mkdtempSync(join(root, "other-"));
  writeFileSync(join(bindir, "berth"), "#!/bin/sh\necho other\n");
  const result = link(bindir);
  assert.equal(result.code, 0);
  assert.equal(readFileSync(join(bindir, "berth"), "utf8"), "#!/bin/sh\necho other\n");
  assert.match(result.stderr, /not this checkout's; here, run node bin\/berth\.js/);
});

test("a link that points nowhere (a removed checkout) is replaced", () => {
  const bindir = mkdtempSync(join(root, "dangling-"));
  symlinkSync(join(root, "gone", "bin", "berth.js"), join(bindir, "berth"));
  assert.equal(link(bindir).code, 0);
  assert.equal(readlinkSync(join(bindir, "berth")), TARGET);
});
