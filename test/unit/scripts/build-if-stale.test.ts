/** `scripts/build-if-stale.sh`: `npm run up` builds only when a source is newer than the last build. */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, test } from "node:test";

const SCRIPT = resolve("scripts/build-if-stale.sh");
const root = mkdtempSync(join(tmpdir(), "berth-build-if-stale-"));
after(() => rmSync(root, { recursive: true, force: true }));

/** A project with a fake `npm` that counts builds (and fails while `fail` exists). */
function project(name: string): { dir: string; builds: () => number; run: () => number } {
  const dir = join(root, name);
  mkdirSync(join(dir, "src", "cli"), { recursive: true });
  mkdirSync(join(dir, "bin"));
  for (const file of ["tsconfig.json", "tsconfig.build.json", "package.json", "package-lock.json"])
    writeFileSync(join(dir, file), "{}");
  writeFileSync(join(dir, "src", "cli", "main.ts"), "export {};\n");
  writeFileSync(
    join(dir, "bin", "npm"),
    `#!/bin/sh\necho build >> "${dir}/builds"\n[ ! -e "${dir}/fail" ]\n`,
  );
  chmodSync(join(dir, "bin", "npm"), 0o755);
  const builds = (): number => {
    try {
      return readFileSync(join(dir, "builds"), "utf8").split("\n").filter(Boolean).length;
    } catch {
      return 0;
    }
  };
  const run = (): number =>
    spawnSync("bash", [SCRIPT, dir], {
      env: { ...process.env, PATH: `${join(dir, "bin")}:${process.env.PATH ?? ""}` },
      stdio: "ignore",
    }).status ?? -1;
  return { dir, builds, run };
}

/** Moves a path's times to `secondsAgo` in the past (mtime comparisons are what is tested). */
function age(path: string, secondsAgo: number): void {
  const when = new Date(Date.now() - secondsAgo * 1000);
  utimesSync(path, when, when);
}

test("the first run builds, a second with nothing changed does not", () => {
  const p = project("first");
  assert.equal(p.run(), 0);
  assert.equal(p.builds(), 1);
  assert.equal(p.run(), 0);
  assert.equal(p.builds(), 1);
});

test("a source, a tsconfig, package.json or the lock file newer than the build builds again", () => {
  const p = project("inputs");
  assert.equal(p.run(), 0);
  age(join(p.dir, "dist", ".build-stamp"), 60);
  for (const [i, file] of [
    "src/cli/main.ts",
    "tsconfig.json",
    "tsconfig.build.json",
    "package.json",
    "package-lock.json",
  ].entries()) {
    writeFileSync(join(p.dir, file), `// ${i}\n`);
    assert.equal(p.run(), 0);
    assert.equal(p.builds(), i + 2, `${file} changed: a build`);
    assert.equal(p.run(), 0);
    assert.equal(p.builds(), i + 2, `${file} unchanged since: no build`);
    age(join(p.dir, "dist", ".build-stamp"), 60);
  }
});

test("a removed source (its directory's time moves) builds again", () => {
  const p = project("removed");
  writeFileSync(join(p.dir, "src", "cli", "old.ts"), "export {};\n");
  assert.equal(p.run(), 0);
  for (const path of [
    "src",
    "src/cli",
    "src/cli/main.ts",
    "src/cli/old.ts",
    "tsconfig.json",
    "tsconfig.build.json",
    "package.json",
    "package-lock.json",
  ])
    age(join(p.dir, path), 120);
  age(join(p.dir, "dist", ".build-stamp"), 60);
  assert.equal(p.run(), 0);
  assert.equal(p.builds(), 1, "nothing newer than the stamp");
  unlinkSync(join(p.dir, "src", "cli", "old.ts"));
  assert.equal(p.run(), 0);
  assert.equal(p.builds(), 2);
});

test("a failed build is not stamped: the next run builds again", () => {
  const p = project("failed");
  writeFileSync(join(p.dir, "fail"), "");
  assert.notEqual(p.run(), 0);
  assert.equal(p.builds(), 1);
  unlinkSync(join(p.dir, "fail"));
  assert.equal(p.run(), 0);
  assert.equal(p.builds(), 2);
  assert.equal(p.run(), 0);
  assert.equal(p.builds(), 2);
});
