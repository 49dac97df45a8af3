// The `berth` command's help and errors, in process: every command answers --help, -h and
// `berth help NAME` with its own usage and exit 0; failures are one line, never a stack.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const CHILD = fileURLToPath(new URL("./main-child.ts", import.meta.url));

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs each `berth ARGV` (in one child process, src/cli/main.ts through tsx). */
function berthAll(invocations: Array<{ argv: string[]; env?: NodeJS.ProcessEnv }>): Result[] {
  const child = spawnSync(process.execPath, ["--import", "tsx", CHILD], {
    input: JSON.stringify(invocations),
    encoding: "utf8",
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
  });
  assert.equal(child.status, 0, child.stderr);
  return JSON.parse(child.stdout) as Result[];
}

const KEYS = { BERTH_ACCESS_KEY_ID: "AKIDEXAMPLE", BERTH_SECRET_ACCESS_KEY: "secret" };
const NOWHERE = "http://127.0.0.1:1";
const FLAG_CHECKS: Record<string, string[]> = {
  run: [
    "-d, --detach",
    "-e, --env NAME=VALUE",
    "--cpu UNITS",
    "--memory MIB",
    "--init",
    "--cluster CLUSTER",
    "--stop-timeout SECONDS",
    "--endpoint URL",
  ],
  exec: ["-i, --interactive", "-t, --tty", "--container NAME", "--cluster CLUSTER"],
  stop: ["--reason TEXT", "--cluster CLUSTER"],
  logs: ["-f, --follow", "--container NAME", "--cluster CLUSTER"],
  ps: ["-a, --all", "--cluster CLUSTER"],
  top: ["--interval SECONDS", "--once"],
  up: ["--port PORT", "--data-dir DIR", "--elb-address ADDRESS", "--task-cidr CIDR"],
  agent: ["--server URL\\[,URL\\.\\.\\.\\]", "--token TOKEN", "--spot"],
};
const UNREACHED = [
  ["ps"],
  ["logs", "abc"],
  ["stop", "abc"],
  ["exec", "abc", "--", "ls"],
  ["run", "busybox"],
  ["clusters"],
  ["bill"],
];
const BAD_VALUES = [
  ["run", "busybox", "--stop-timeout", "soon"],
  ["top", "--interval", "0"],
  ["spot", "resume"],
  ["up", "--port", "99999"],
];

// Two child processes in all (each loads the whole CLI through tsx): the overview, to learn the
// command names, then every other invocation the tests look at.
const [overview, bare] = berthAll([{ argv: ["help"] }, { argv: [] }]) as [Result, Result];
const NAMES = [
  ...overview.stdout
    .slice(overview.stdout.indexOf("Commands:\n"))
    .split("\n\n")[0]!
    .matchAll(/^ {2}([a-z-]+) /gm),
]
  .map((m) => m[1]!)
  .filter((n) => n !== "help");
const INVOCATIONS: Record<string, { argv: string[]; env?: NodeJS.ProcessEnv }> = {};
for (const name of NAMES) {
  INVOCATIONS[`${name} --help`] = { argv: [name, "--help"] };
  INVOCATIONS[`${name} -h`] = { argv: [name, "-h"] };
  INVOCATIONS[`help ${name}`] = { argv: ["help", name] };
}
for (const name of Object.keys(FLAG_CHECKS)) INVOCATIONS[`help ${name}`] = { argv: ["help", name] };
INVOCATIONS["exec -it --help"] = { argv: ["exec", "TASK", "-it", "--help"] };
INVOCATIONS["exec -- ls -h"] = {
  argv: ["exec", "--endpoint", NOWHERE, "T", "--", "ls", "-h"],
  env: KEYS,
};
INVOCATIONS["nope"] = { argv: ["nope"] };
INVOCATIONS["help nope"] = { argv: ["help", "nope"] };
INVOCATIONS["ps --bogus"] = { argv: ["ps", "--bogus"], env: KEYS };
for (const argv of UNREACHED)
  INVOCATIONS[`unreached ${argv.join(" ")}`] = {
    argv: [...argv, "--endpoint", NOWHERE],
    env: KEYS,
  };
INVOCATIONS["BERTH_ENDPOINT ps"] = {
  argv: ["ps"],
  env: { ...KEYS, BERTH_ENDPOINT: "http://127.0.0.1:2" },
};
for (const argv of BAD_VALUES) INVOCATIONS[`bad ${argv.join(" ")}`] = { argv, env: KEYS };
const keys = Object.keys(INVOCATIONS);
const outcomes = berthAll(keys.map((key) => INVOCATIONS[key]!));
function result(key: string): Result {
  const found = outcomes[keys.indexOf(key)];
  assert.ok(found !== undefined, `no invocation ${key}`);
  return found;
}

describe("berth help", () => {
  it("lists the commands, exit 0; bare `berth` prints the same to stderr, exit 2", () => {
    assert.equal(overview.code, 0);
    for (const name of ["up", "agent", "run", "ps", "logs", "exec", "stop", "top", "bill"])
      assert.ok(NAMES.includes(name), `${name} is listed`);
    assert.equal(bare.code, 2);
    assert.equal(bare.stderr, overview.stdout);
  });

  it("every command answers --help, -h and `berth help NAME` with its own usage, exit 0", () => {
    assert.ok(NAMES.length >= 14, `found ${NAMES.length} commands`);
    for (const name of NAMES) {
      const long = result(`${name} --help`);
      assert.equal(long.code, 0, `berth ${name} --help exits 0`);
      assert.equal(long.stderr, "");
      assert.match(long.stdout, new RegExp(`^Usage: berth ${name}\\b`), `berth ${name} --help`);
      assert.match(long.stdout, /\nOptions:\n/);
      assert.match(long.stdout, /-h, --help/);
      assert.deepEqual(result(`${name} -h`), long, `berth ${name} -h`);
      assert.deepEqual(result(`help ${name}`), long, `berth help ${name}`);
    }
  });

  it("help wins wherever it comes before `--`; after it, -h is CMD's", () => {
    const help = result("exec -it --help");
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^Usage: berth exec/);
    // berth exec goes on (and fails to reach a Berth).
    const after = result("exec -- ls -h");
    assert.equal(after.code, 1);
    assert.equal(after.stdout, "");
    assert.match(after.stderr, /cannot reach Berth/);
  });

  it("documents each command's flags, with a line of help each", () => {
    for (const [name, flags] of Object.entries(FLAG_CHECKS)) {
      const { stdout } = result(`help ${name}`);
      const options = stdout.slice(stdout.indexOf("\nOptions:\n")).split("\n");
      for (const flag of flags) {
        const at = options.findIndex((l) => new RegExp(`^ {2}(-., )? *${flag}( |$)`).test(l));
        assert.ok(at >= 0, `berth help ${name} documents ${flag}`);
        const label = options[at] ?? "";
        const help =
          label.slice(label.indexOf(flag) + flag.length).trim() || options[at + 1]?.trim();
        assert.ok(help !== undefined && help.length > 5, `${flag} has help text`);
      }
    }
  });

  it("an unknown command or topic is one line on stderr, exit 2", () => {
    for (const key of ["nope", "help nope"]) {
      const { code, stdout, stderr } = result(key);
      assert.equal(code, 2);
      assert.equal(stdout, "");
      assert.equal(stderr, "berth: unknown command 'nope'. Run `berth help` for the list.\n");
    }
  });
});

describe("berth errors", () => {
  it("an unknown flag is one line naming it and the help to read, exit 2", () => {
    const { code, stderr } = result("ps --bogus");
    assert.equal(code, 2);
    assert.equal(
      stderr,
      "berth ps: Unknown option '--bogus'. Run `berth help ps` for its options.\n",
    );
  });

  it("a Berth that is not there is one line naming the endpoint, for every client command", () => {
    for (const argv of UNREACHED) {
      const { code, stderr } = result(`unreached ${argv.join(" ")}`);
      assert.equal(code, 1, `berth ${argv.join(" ")}`);
      assert.equal(
        stderr,
        `berth ${argv[0]}: cannot reach Berth at ${NOWHERE} (ECONNREFUSED). Is it running? ` +
          "Start it with `npm run up`, or point --endpoint / BERTH_ENDPOINT at it.\n",
      );
    }
  });

  it("BERTH_ENDPOINT is the endpoint the error names", () => {
    const { stderr } = result("BERTH_ENDPOINT ps");
    assert.match(
      stderr,
      /^berth ps: cannot reach Berth at http:\/\/127\.0\.0\.1:2 \(ECONNREFUSED\)/,
    );
    assert.equal(stderr.split("\n").length, 2);
  });

  it("a bad value is one line, exit 2", () => {
    for (const argv of BAD_VALUES) {
      const { code, stderr } = result(`bad ${argv.join(" ")}`);
      assert.equal(code, 2, `berth ${argv.join(" ")}: ${stderr}`);
      assert.equal(stderr.split("\n").length, 2, stderr);
      assert.ok(!stderr.includes("    at "), stderr);
    }
  });
});
