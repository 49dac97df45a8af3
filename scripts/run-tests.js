// Runs the node:test suites (TypeScript through tsx) in the given files and folders, default all of test/.
import { spawn, spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

function findTests(dir) {
  if (!statSync(dir).isDirectory()) return [dir];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return findTests(path);
    return name.endsWith(".test.ts") ? [path] : [];
  });
}

const roots = process.argv.slice(2);
const files = (roots.length ? roots : ["test"]).flatMap(findTests).sort();
if (files.length === 0) {
  console.error("run-tests: no test files found");
  process.exit(1);
}
// Berth pins AWS SDK releases that support Node.js 20 (bin/berth.js says the same): the SDK's
// notice that later releases will need Node.js 22 would otherwise repeat once per test process.
// Tests launch many 20 GiB tasks that write a few MB: their Berths may overcommit the disk
// (an operator's default is 1, every GiB promised free); the disk-admission test sets its own.
const env = {
  ...process.env,
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
  BERTH_STORAGE_OVERCOMMIT: process.env.BERTH_STORAGE_OVERCOMMIT ?? "100",
};
// A test that hangs fails after TEST_TIMEOUT_MS with its name, instead of eating CI's whole budget
// in silence (the longest test takes a few minutes on a loaded machine).
const TEST_TIMEOUT_MS = 10 * 60 * 1000;
const args = (group) => [
  "--import",
  "tsx",
  "--test",
  `--test-timeout=${TEST_TIMEOUT_MS}`,
  ...group,
];

// The whole suite: the unit files (hermetic, about 4 minutes of which most is starting a process
// per file) run beside the end-to-end files, which run one at a time as before; the unit run's
// report is printed after the end-to-end one so neither is interleaved.
const units =
  roots.length === 0 ? files.filter((file) => file.startsWith(join("test", "unit"))) : [];
if (units.length === 0) {
  const result = spawnSync(process.execPath, args(files), { stdio: "inherit", env });
  process.exit(result.status ?? 1);
}
const others = files.filter((file) => !units.includes(file));
const unitRun = new Promise((resolveRun) => {
  const child = spawn(process.execPath, args(units), { stdio: ["ignore", "pipe", "pipe"], env });
  const output = [];
  child.stdout.on("data", (chunk) => output.push(chunk));
  child.stderr.on("data", (chunk) => output.push(chunk));
  child.on("close", (code) => resolveRun({ code: code ?? 1, output: Buffer.concat(output) }));
});
const e2e = spawn(process.execPath, args(others), { stdio: "inherit", env });
const e2eCode = await new Promise((resolveRun) => e2e.on("close", (code) => resolveRun(code ?? 1)));
const unit = await unitRun;
process.stdout.write(unit.output);
process.exit(e2eCode !== 0 ? e2eCode : unit.code);
