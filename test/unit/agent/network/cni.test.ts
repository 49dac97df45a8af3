/** The CNI glue against fake plugins: environment, stdin, prevResult chaining, order, errors. */
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { CniError, CniPlugins, type CniConflist } from "../../../../src/agent/network/index.js";

let dir: string;
let journal: string;

/**
 * A plugin that appends one JSON line (its name, CNI env and stdin config) to the journal and,
 * on ADD, answers the previous result with its own interface added.
 */
function fakePlugin(name: string, body = ""): void {
  const file = join(dir, name);
  writeFileSync(
    file,
    `#!/bin/sh
config=$(cat)
printf '{"plugin":"%s","command":"%s","id":"%s","netns":"%s","ifname":"%s","path":"%s","config":%s}\\n' \\
  "${name}" "$CNI_COMMAND" "$CNI_CONTAINERID" "$CNI_NETNS" "$CNI_IFNAME" "$CNI_PATH" "$config" >> "${journal}"
${body}
if [ "$CNI_COMMAND" = ADD ]; then
  echo '{"cniVersion":"1.0.0","interfaces":[{"name":"${name}0","mac":"0a:00:00:00:00:01","sandbox":"/ns"}],"ips":[{"address":"100.64.0.2/24","gateway":"100.64.0.1","interface":0}]}'
fi
`,
  );
  chmodSync(file, 0o755);
}

function entries(): Array<Record<string, unknown> & { config: Record<string, unknown> }> {
  return readFileSync(journal, "utf8")
    .trim()
    .split("\n")
    .map(
      (line) => JSON.parse(line) as Record<string, unknown> & { config: Record<string, unknown> },
    );
}

const list: CniConflist = {
  cniVersion: "1.0.0",
  name: "testnet",
  plugins: [
    { type: "first", setting: 1 },
    { type: "second", other: "x" },
  ],
};
const target = { containerId: "task1", netns: "/run/netns/task1", ifName: "eth0" };

before(() => {
  dir = mkdtempSync(join(tmpdir(), "berth-cni-"));
  journal = join(dir, "journal");
  fakePlugin("first");
  fakePlugin("second");
  fakePlugin(
    "broken",
    `echo '{"cniVersion":"1.0.0","code":11,"msg":"no luck","details":"pool empty"}'; exit 1`,
  );
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe("CNI plugin invocation", () => {
  it("runs ADD in order with the CNI environment, the list's name and version, and prevResult chained", async () => {
    writeFileSync(journal, "");
    const result = await new CniPlugins(["/nonexistent", dir]).add(list, target);
    const [first, second] = entries();
    assert.equal(first?.plugin, "first");
    assert.equal(second?.plugin, "second");
    for (const entry of [first, second]) {
      assert.equal(entry?.command, "ADD");
      assert.equal(entry?.id, "task1");
      assert.equal(entry?.netns, "/run/netns/task1");
      assert.equal(entry?.ifname, "eth0");
      assert.equal(entry?.path, `/nonexistent:${dir}`);
      assert.equal(entry?.config.name, "testnet");
      assert.equal(entry?.config.cniVersion, "1.0.0");
    }
    assert.equal(first?.config.setting, 1);
    assert.equal(first?.config.prevResult, undefined);
    assert.deepEqual((second?.config.prevResult as { interfaces: unknown[] }).interfaces[0], {
      name: "first0",
      mac: "0a:00:00:00:00:01",
      sandbox: "/ns",
    });
    assert.equal(second?.config.other, "x");
    assert.equal(result.interfaces?.[0]?.name, "second0");
  });

  it("runs DEL in reverse order with the ADD's result, and CHECK in order", async () => {
    writeFileSync(journal, "");
    const plugins = new CniPlugins([dir]);
    const added = { cniVersion: "1.0.0", ips: [{ address: "100.64.0.2/24" }] };
    await plugins.del(list, target, added);
    await plugins.check(list, target, added);
    assert.deepEqual(
      entries().map((e) => `${String(e.command)} ${String(e.plugin)}`),
      ["DEL second", "DEL first", "CHECK first", "CHECK second"],
    );
    for (const entry of entries()) assert.deepEqual(entry.config.prevResult, added);
  });

  it("runs DEL without a prevResult when the ADD's result is lost", async () => {
    writeFileSync(journal, "");
    await new CniPlugins([dir]).del(list, target);
    for (const entry of entries()) assert.equal("prevResult" in entry.config, false);
  });

  it("turns a plugin's CNI error into a CniError with its code and text", async () => {
    const plugins = new CniPlugins([dir]);
    await assert.rejects(
      plugins.add({ ...list, plugins: [{ type: "first" }, { type: "broken" }] }, target),
      (error: unknown) =>
        error instanceof CniError &&
        error.code === "NetworkSetupFailed" &&
        error.cniCode === 11 &&
        error.message === "CNI plugin broken: ADD failed: no luck: pool empty",
    );
  });

  it("refuses a missing plugin and a type that is a path", async () => {
    const plugins = new CniPlugins([dir]);
    await assert.rejects(
      plugins.add({ ...list, plugins: [{ type: "absent" }] }, target),
      /absent: not found/,
    );
    await assert.rejects(
      plugins.add({ ...list, plugins: [{ type: "../first" }] }, target),
      /invalid plugin type/,
    );
  });
});
