/**
 * CloudWatch Logs against a real `berth up`, driven by the Debian AWS CLI v2: groups, streams,
 * events in and out, filter patterns, retention, errors as the CLI prints them, and
 * `aws logs tail --follow` streaming events put while it runs.
 */
import assert from "node:assert/strict";
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import {
  CloudWatchLogsClient,
  CreateLogStreamCommand,
  PutLogEventsCommand,
} from "@aws-sdk/client-cloudwatch-logs";
import { startBerthProcess, type BerthProcess } from "../../src/testing/index.js";

const run = promisify(execFile);
/** The Debian awscli package's binary; an older `aws` may come first on PATH. */
const AWS = "/usr/bin/aws";

let berth: BerthProcess;
let logs: CloudWatchLogsClient;

async function aws(args: string[]): Promise<unknown> {
  const { stdout } = await run(
    AWS,
    ["--endpoint-url", berth.endpoint, "--output", "json", ...args],
    {
      env: berth.awsEnv,
    },
  );
  return stdout.trim() === "" ? {} : (JSON.parse(stdout) as unknown);
}

async function awsFailure(args: string[]): Promise<string> {
  try {
    await aws(args);
  } catch (error) {
    return (error as { stderr: string }).stderr.trim();
  }
  assert.fail("expected the aws command to fail");
}

before(async () => {
  berth = await startBerthProcess();
  logs = new CloudWatchLogsClient(berth.clientConfig);
});
after(async () => {
  logs.destroy();
  await berth.stop();
});

describe("aws logs", () => {
  it("creates a group and stream, puts events, reads them back in order", async () => {
    await aws(["logs", "create-log-group", "--log-group-name", "/cli/app"]);
    await aws([
      "logs",
      "create-log-stream",
      "--log-group-name",
      "/cli/app",
      "--log-stream-name",
      "web/1",
    ]);
    const now = Date.now();
    const events = [
      { timestamp: now - 3, message: "starting" },
      { timestamp: now - 2, message: '{"level":"error","code":500}' },
      { timestamp: now - 1, message: "ready on :8080" },
    ];
    const put = (await aws([
      "logs",
      "put-log-events",
      "--log-group-name",
      "/cli/app",
      "--log-stream-name",
      "web/1",
      "--log-events",
      JSON.stringify(events),
    ])) as { nextSequenceToken?: string; rejectedLogEventsInfo?: unknown };
    assert.match(put.nextSequenceToken ?? "", /^\d{56}$/);
    assert.equal(put.rejectedLogEventsInfo, undefined);

    const got = (await aws([
      "logs",
      "get-log-events",
      "--log-group-name",
      "/cli/app",
      "--log-stream-name",
      "web/1",
      "--start-from-head",
    ])) as {
      events: { message: string; timestamp: number; ingestionTime: number }[];
      nextForwardToken: string;
    };
    assert.deepEqual(
      got.events.map((e) => ({ timestamp: e.timestamp, message: e.message })),
      events,
    );
    for (const event of got.events) assert.ok(event.ingestionTime >= now - 3);
    assert.match(got.nextForwardToken, /^f\/\d{56}\/s$/);

    const filtered = (await aws([
      "logs",
      "filter-log-events",
      "--log-group-name",
      "/cli/app",
      "--filter-pattern",
      '{ $.level = "error" && $.code >= 500 }',
    ])) as { events: { message: string; logStreamName: string }[] };
    assert.deepEqual(
      filtered.events.map((e) => [e.logStreamName, e.message]),
      [["web/1", '{"level":"error","code":500}']],
    );

    const streams = (await aws([
      "logs",
      "describe-log-streams",
      "--log-group-name",
      "/cli/app",
      "--order-by",
      "LastEventTime",
      "--descending",
    ])) as { logStreams: { logStreamName: string; lastEventTimestamp: number }[] };
    assert.deepEqual(
      streams.logStreams.map((s) => [s.logStreamName, s.lastEventTimestamp]),
      [["web/1", now - 1]],
    );
  });

  it("keeps retention policies to AWS's values and prints AWS's errors", async () => {
    await aws([
      "logs",
      "put-retention-policy",
      "--log-group-name",
      "/cli/app",
      "--retention-in-days",
      "14",
    ]);
    const groups = (await aws([
      "logs",
      "describe-log-groups",
      "--log-group-name-prefix",
      "/cli/",
    ])) as {
      logGroups: { logGroupName: string; retentionInDays?: number; storedBytes: number }[];
    };
    assert.equal(groups.logGroups[0]?.retentionInDays, 14);
    assert.ok((groups.logGroups[0]?.storedBytes ?? 0) > 0);
    assert.match(
      await awsFailure([
        "logs",
        "put-retention-policy",
        "--log-group-name",
        "/cli/app",
        "--retention-in-days",
        "2",
      ]),
      /An error occurred \(InvalidParameterException\) when calling the PutRetentionPolicy operation: 1 validation error detected: Value '2' at 'retentionInDays' failed to satisfy constraint: Member must satisfy enum value set: \[1, 3, 5, 7, 14,/,
    );
    assert.equal(
      await awsFailure([
        "logs",
        "get-log-events",
        "--log-group-name",
        "/cli/app",
        "--log-stream-name",
        "nope",
      ]),
      "An error occurred (ResourceNotFoundException) when calling the GetLogEvents operation: The specified log stream does not exist.",
    );
    assert.equal(
      await awsFailure(["logs", "create-log-group", "--log-group-name", "/cli/app"]),
      "An error occurred (ResourceAlreadyExistsException) when calling the CreateLogGroup operation: The specified log group already exists",
    );
    await aws(["logs", "delete-retention-policy", "--log-group-name", "/cli/app"]);
  });

  it("tails a group without --follow through FilterLogEvents pages", async () => {
    const { stdout } = await run(
      AWS,
      ["--endpoint-url", berth.endpoint, "logs", "tail", "/cli/app", "--format", "short"],
      { env: berth.awsEnv },
    );
    const lines = stdout.trim().split("\n");
    assert.equal(lines.length, 3);
    assert.match(lines[0] ?? "", /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d starting$/);
    assert.match(lines[2] ?? "", / ready on :8080$/);
  });
});

describe("aws logs tail --follow", () => {
  let tail: ChildProcess | undefined;
  after(async () => {
    if (tail?.pid !== undefined && tail.exitCode === null && tail.signalCode === null) {
      const exited = new Promise((resolve) => tail?.once("exit", resolve));
      tail.kill("SIGKILL");
      await exited;
    }
  });

  it("prints events already there, then events put while it runs, in order", async () => {
    await aws(["logs", "create-log-group", "--log-group-name", "/cli/follow"]);
    await logs.send(
      new CreateLogStreamCommand({ logGroupName: "/cli/follow", logStreamName: "a" }),
    );
    await logs.send(
      new CreateLogStreamCommand({ logGroupName: "/cli/follow", logStreamName: "b" }),
    );
    await logs.send(
      new PutLogEventsCommand({
        logGroupName: "/cli/follow",
        logStreamName: "a",
        logEvents: [{ timestamp: Date.now() - 1000, message: "before tail" }],
      }),
    );

    const child = spawn(
      AWS,
      [
        "--endpoint-url",
        berth.endpoint,
        "logs",
        "tail",
        "/cli/follow",
        "--follow",
        "--format",
        "detailed",
      ],
      // The CLI writes through a buffer unless told otherwise; the test reads it live.
      { env: { ...berth.awsEnv, PYTHONUNBUFFERED: "1" }, stdio: ["ignore", "pipe", "pipe"] },
    );
    tail = child;
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));

    const waitFor = async (pattern: RegExp): Promise<void> => {
      // The CLI polls every 5 s; a minute is far beyond any healthy poll.
      const deadline = Date.now() + 60_000;
      while (!pattern.test(output)) {
        if (child.exitCode !== null) assert.fail(`aws logs tail exited:\n${output}`);
        if (Date.now() > deadline)
          assert.fail(`aws logs tail never printed ${pattern}:\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };
    await waitFor(/ a before tail\n/);

    const now = Date.now();
    await logs.send(
      new PutLogEventsCommand({
        logGroupName: "/cli/follow",
        logStreamName: "b",
        logEvents: [
          { timestamp: now, message: "live one" },
          { timestamp: now + 1, message: "live two" },
        ],
      }),
    );
    await logs.send(
      new PutLogEventsCommand({
        logGroupName: "/cli/follow",
        logStreamName: "a",
        logEvents: [{ timestamp: now + 2, message: "live three" }],
      }),
    );
    await waitFor(/live three\n/);

    child.kill("SIGINT");
    await exited;
    const lines = output.trim().split("\n");
    assert.deepEqual(
      lines.map((line) => line.split(" ").slice(1).join(" ")),
      ["a before tail", "b live one", "b live two", "a live three"],
    );
    assert.match(lines[1] ?? "", /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00 b live one$/);
  });
});
