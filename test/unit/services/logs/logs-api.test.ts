/** The CloudWatch Logs API through the AWS SDK against an in-process Berth. */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  CreateLogStreamCommand,
  DeleteLogGroupCommand,
  DeleteLogStreamCommand,
  DeleteRetentionPolicyCommand,
  DescribeLogGroupsCommand,
  DescribeLogStreamsCommand,
  FilterLogEventsCommand,
  GetLogEventsCommand,
  ListTagsForResourceCommand,
  ListTagsLogGroupCommand,
  TagLogGroupCommand,
  UntagLogGroupCommand,
  PutLogEventsCommand,
  PutRetentionPolicyCommand,
  TagResourceCommand,
  UntagResourceCommand,
  type InputLogEvent,
} from "@aws-sdk/client-cloudwatch-logs";
import { startBerthInProcess, type TestBerth, rejectsWith } from "../../../../src/testing/index.js";

let berth: TestBerth;
let logs: CloudWatchLogsClient;
const DAY = 24 * 60 * 60 * 1000;

before(async () => {
  berth = await startBerthInProcess();
  logs = new CloudWatchLogsClient(berth.clientConfig);
});
after(async () => {
  logs.destroy();
  await berth.stop();
});

async function stream(group: string, name: string, events: InputLogEvent[] = []) {
  await logs.send(new CreateLogGroupCommand({ logGroupName: group })).catch((error: Error) => {
    if (error.name !== "ResourceAlreadyExistsException") throw error;
  });
  await logs.send(new CreateLogStreamCommand({ logGroupName: group, logStreamName: name }));
  if (events.length > 0)
    await logs.send(
      new PutLogEventsCommand({ logGroupName: group, logStreamName: name, logEvents: events }),
    );
}

describe("log groups", () => {
  it("creates, describes with AWS's fields, refuses a duplicate, deletes", async () => {
    await logs.send(new CreateLogGroupCommand({ logGroupName: "/ecs/web", tags: { team: "a" } }));
    await rejectsWith(
      logs.send(new CreateLogGroupCommand({ logGroupName: "/ecs/web" })),
      "ResourceAlreadyExistsException",
      "The specified log group already exists",
    );
    const { logGroups } = await logs.send(
      new DescribeLogGroupsCommand({ logGroupNamePrefix: "/ecs/web" }),
    );
    assert.equal(logGroups?.length, 1);
    const group = logGroups?.[0];
    assert.equal(group?.logGroupName, "/ecs/web");
    assert.equal(group?.arn, "arn:aws:logs:us-east-1:000000000000:log-group:/ecs/web:*");
    assert.equal(group?.logGroupArn, "arn:aws:logs:us-east-1:000000000000:log-group:/ecs/web");
    assert.equal(group?.storedBytes, 0);
    assert.equal(group?.metricFilterCount, 0);
    assert.equal(group?.retentionInDays, undefined);
    assert.ok(Math.abs((group?.creationTime ?? 0) - Date.now()) < 60_000);

    await logs.send(new DeleteLogGroupCommand({ logGroupName: "/ecs/web" }));
    await rejectsWith(
      logs.send(new DeleteLogGroupCommand({ logGroupName: "/ecs/web" })),
      "ResourceNotFoundException",
      "The specified log group does not exist.",
    );
  });

  it("validates names against the model in Coral's form", async () => {
    await rejectsWith(
      logs.send(new CreateLogGroupCommand({ logGroupName: "bad name!" })),
      "InvalidParameterException",
      /^1 validation error detected: Value 'bad name!' at 'logGroupName' failed to satisfy constraint: Member must satisfy regular expression pattern/,
    );
  });

  it("lists in name order by prefix or pattern, a page at a time", async () => {
    const names = Array.from({ length: 7 }, (_, i) => `/page/g${i}`);
    for (const name of [...names].reverse())
      await logs.send(new CreateLogGroupCommand({ logGroupName: name }));
    await logs.send(new CreateLogGroupCommand({ logGroupName: "/other/g9" }));
    const seen: string[] = [];
    let nextToken: string | undefined;
    let pages = 0;
    do {
      const page = await logs.send(
        new DescribeLogGroupsCommand({ logGroupNamePrefix: "/page/", limit: 3, nextToken }),
      );
      seen.push(...(page.logGroups ?? []).map((g) => g.logGroupName ?? ""));
      nextToken = page.nextToken;
      pages++;
    } while (nextToken !== undefined);
    assert.deepEqual(seen, names);
    assert.equal(pages, 3);
    const byPattern = await logs.send(new DescribeLogGroupsCommand({ logGroupNamePattern: "g9" }));
    assert.deepEqual(
      byPattern.logGroups?.map((g) => g.logGroupName),
      ["/other/g9"],
    );
    await rejectsWith(
      logs.send(
        new DescribeLogGroupsCommand({ logGroupNamePrefix: "/a", logGroupNamePattern: "b" }),
      ),
      "InvalidParameterException",
      "LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.",
    );
    // AWS answers a token it never handed out with an empty page, not an error (issue 13 #26).
    const garbage = await logs.send(new DescribeLogGroupsCommand({ nextToken: "garbage" }));
    assert.deepEqual(garbage.logGroups, []);
    assert.equal(garbage.nextToken, undefined);
  });

  it("sets and removes retention, only to AWS's values", async () => {
    await logs.send(new CreateLogGroupCommand({ logGroupName: "kept" }));
    await rejectsWith(
      logs.send(new PutRetentionPolicyCommand({ logGroupName: "kept", retentionInDays: 2 })),
      "InvalidParameterException",
      "1 validation error detected: Value '2' at 'retentionInDays' failed to satisfy constraint: Member must satisfy enum value set: [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653]",
    );
    await rejectsWith(
      logs.send(new PutRetentionPolicyCommand({ logGroupName: "nope", retentionInDays: 7 })),
      "ResourceNotFoundException",
      "The specified log group does not exist.",
    );
    await logs.send(new PutRetentionPolicyCommand({ logGroupName: "kept", retentionInDays: 7 }));
    const described = await logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: "kept" }));
    assert.equal(described.logGroups?.[0]?.retentionInDays, 7);
    await logs.send(new DeleteRetentionPolicyCommand({ logGroupName: "kept" }));
    const after = await logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: "kept" }));
    assert.equal(after.logGroups?.[0]?.retentionInDays, undefined);
  });
});

describe("log streams", () => {
  it("creates once, needs its group, describes by name or by last event time", async () => {
    const now = Date.now();
    await stream("streams", "b", [{ timestamp: now - 3000, message: "b" }]);
    await stream("streams", "a", [{ timestamp: now - 1000, message: "a" }]);
    await stream("streams", "c");
    await rejectsWith(
      logs.send(new CreateLogStreamCommand({ logGroupName: "streams", logStreamName: "a" })),
      "ResourceAlreadyExistsException",
      "The specified log stream already exists",
    );
    await rejectsWith(
      logs.send(new CreateLogStreamCommand({ logGroupName: "nogroup", logStreamName: "a" })),
      "ResourceNotFoundException",
      "The specified log group does not exist.",
    );
    const byName = await logs.send(new DescribeLogStreamsCommand({ logGroupName: "streams" }));
    assert.deepEqual(
      byName.logStreams?.map((s) => s.logStreamName),
      ["a", "b", "c"],
    );
    const a = byName.logStreams?.[0];
    assert.equal(a?.arn, "arn:aws:logs:us-east-1:000000000000:log-group:streams:log-stream:a");
    assert.equal(a?.firstEventTimestamp, now - 1000);
    assert.equal(a?.lastEventTimestamp, now - 1000);
    assert.equal(a?.storedBytes, 0);
    assert.equal(byName.logStreams?.[2]?.lastEventTimestamp, undefined);

    const latestFirst: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await logs.send(
        new DescribeLogStreamsCommand({
          logGroupIdentifier: "arn:aws:logs:us-east-1:000000000000:log-group:streams",
          orderBy: "LastEventTime",
          descending: true,
          limit: 1,
          nextToken,
        }),
      );
      latestFirst.push(...(page.logStreams ?? []).map((s) => s.logStreamName ?? ""));
      nextToken = page.nextToken;
    } while (nextToken !== undefined);
    assert.deepEqual(latestFirst, ["a", "b", "c"]);

    const prefixed = await logs.send(
      new DescribeLogStreamsCommand({ logGroupName: "streams", logStreamNamePrefix: "b" }),
    );
    assert.deepEqual(
      prefixed.logStreams?.map((s) => s.logStreamName),
      ["b"],
    );
    await rejectsWith(
      logs.send(
        new DescribeLogStreamsCommand({
          logGroupName: "streams",
          orderBy: "LastEventTime",
          logStreamNamePrefix: "b",
        }),
      ),
      "InvalidParameterException",
      "Cannot order by LastEventTime with a logStreamNamePrefix.",
    );
    await rejectsWith(
      logs.send(
        new DescribeLogStreamsCommand({ logGroupName: "streams", logGroupIdentifier: "streams" }),
      ),
      "ValidationException",
      "LogGroup name and LogGroup ARN are mutually exclusive parameters.",
    );
    await logs.send(new DeleteLogStreamCommand({ logGroupName: "streams", logStreamName: "c" }));
    await rejectsWith(
      logs.send(new DeleteLogStreamCommand({ logGroupName: "streams", logStreamName: "c" })),
      "ResourceNotFoundException",
      "The specified log stream does not exist.",
    );
  });
});

describe("PutLogEvents", () => {
  it("refuses a missing stream, unordered batches, batches over 1 MiB or 24 hours", async () => {
    await stream("put", "s");
    const now = Date.now();
    await rejectsWith(
      logs.send(
        new PutLogEventsCommand({
          logGroupName: "put",
          logStreamName: "missing",
          logEvents: [{ timestamp: now, message: "x" }],
        }),
      ),
      "ResourceNotFoundException",
      "The specified log stream does not exist.",
    );
    const put = (logEvents: InputLogEvent[]) =>
      logs.send(new PutLogEventsCommand({ logGroupName: "put", logStreamName: "s", logEvents }));
    await rejectsWith(
      put([
        { timestamp: now, message: "2" },
        { timestamp: now - 1, message: "1" },
      ]),
      "InvalidParameterException",
      "Log events in a single PutLogEvents request must be in chronological order.",
    );
    await rejectsWith(
      put([
        { timestamp: now - DAY - 1, message: "old" },
        { timestamp: now, message: "new" },
      ]),
      "InvalidParameterException",
      "The batch of log events in a single PutLogEvents request cannot span more than 24 hours.",
    );
    // 26 bytes per event count: 2 events of 524,263 bytes are 1,048,578 bytes.
    const half = "x".repeat(524_263);
    await rejectsWith(
      put([
        { timestamp: now, message: half },
        { timestamp: now, message: half },
      ]),
      "InvalidParameterException",
      "Upload too large: 1048578 bytes exceeds limit of 1048576",
    );
    const fits = await put([
      { timestamp: now, message: half },
      { timestamp: now, message: half.slice(2) },
    ]);
    assert.equal(fits.rejectedLogEventsInfo, undefined);
    assert.match(fits.nextSequenceToken ?? "", /^\d{56}$/);
    const stored = await logs.send(
      new GetLogEventsCommand({ logGroupName: "put", logStreamName: "s", startFromHead: true }),
    );
    assert.deepEqual(
      stored.events?.map((e) => e.message?.length),
      [524_263, 524_261],
    );
  });

  it("rejects too old, expired and too new events by index and keeps the rest", async () => {
    await stream("ages", "s");
    await logs.send(new PutRetentionPolicyCommand({ logGroupName: "ages", retentionInDays: 1 }));
    const now = Date.now();
    const HOUR = 60 * 60 * 1000;
    const put = (logEvents: InputLogEvent[]) =>
      logs.send(
        new PutLogEventsCommand({
          logGroupName: "ages",
          logStreamName: "s",
          // Ignored, as AWS ignores sequence tokens now.
          sequenceToken: "49039859880000000000000000000000000000000000000000000000",
          logEvents,
        }),
      );
    // A batch may not span 24 hours, so each age is tried in a batch of its own.
    const old = await put([
      { timestamp: now - 15 * DAY - 1000, message: "too old 1" },
      { timestamp: now - 15 * DAY, message: "too old 2" },
    ]);
    assert.deepEqual(old.rejectedLogEventsInfo, {
      tooOldLogEventEndIndex: 1,
      expiredLogEventEndIndex: 1,
    });
    const expired = await put([
      { timestamp: now - DAY - 2 * HOUR, message: "expired 1" },
      { timestamp: now - DAY - HOUR, message: "expired 2" },
      { timestamp: now - 3 * HOUR, message: "kept 1" },
    ]);
    assert.deepEqual(expired.rejectedLogEventsInfo, { expiredLogEventEndIndex: 1 });
    const future = await put([
      { timestamp: now, message: "kept 2" },
      { timestamp: now + 3 * HOUR, message: "too new 1" },
      { timestamp: now + 4 * HOUR, message: "too new 2" },
    ]);
    assert.deepEqual(future.rejectedLogEventsInfo, { tooNewLogEventStartIndex: 1 });
    const stored = await logs.send(
      new GetLogEventsCommand({ logGroupName: "ages", logStreamName: "s" }),
    );
    assert.deepEqual(
      stored.events?.map((e) => e.message),
      ["kept 1", "kept 2"],
    );
  });
});

describe("GetLogEvents", () => {
  const base = Date.now() - 60_000;
  const events = Array.from({ length: 10 }, (_, i) => ({
    timestamp: base + Math.floor(i / 2),
    message: `line ${i}`,
  }));
  before(() => stream("get", "s", events));
  const get = (extra: Partial<ConstructorParameters<typeof GetLogEventsCommand>[0]>) =>
    logs.send(new GetLogEventsCommand({ logGroupName: "get", logStreamName: "s", ...extra }));

  it("starts from the tail by default and from the head when asked", async () => {
    const tail = await get({ limit: 3 });
    assert.deepEqual(
      tail.events?.map((e) => e.message),
      ["line 7", "line 8", "line 9"],
    );
    const head = await get({ limit: 3, startFromHead: true });
    assert.deepEqual(
      head.events?.map((e) => e.message),
      ["line 0", "line 1", "line 2"],
    );
    assert.ok((head.events?.[0]?.ingestionTime ?? 0) >= base);
  });

  it("pages forward and backward, and hands back the same token at either end", async () => {
    const forward: string[] = [];
    let token: string | undefined;
    let previous: string | undefined;
    for (;;) {
      const page = await get({ limit: 4, startFromHead: true, nextToken: token });
      forward.push(...(page.events ?? []).map((e) => e.message ?? ""));
      previous = token;
      token = page.nextForwardToken;
      if (page.events?.length === 0) {
        assert.equal(token, previous);
        break;
      }
    }
    assert.deepEqual(
      forward,
      events.map((e) => e.message),
    );

    // Nothing new: the same forward token; a new event: it comes through that token.
    const again = await get({ nextToken: token });
    assert.equal(again.nextForwardToken, token);
    await logs.send(
      new PutLogEventsCommand({
        logGroupName: "get",
        logStreamName: "s",
        logEvents: [{ timestamp: base + 100, message: "line 10" }],
      }),
    );
    const fresh = await get({ nextToken: token });
    assert.deepEqual(
      fresh.events?.map((e) => e.message),
      ["line 10"],
    );
    assert.notEqual(fresh.nextForwardToken, token);

    const backward: string[] = [];
    let back: string | undefined;
    for (;;) {
      const page = await get({ limit: 3, nextToken: back });
      backward.unshift(...(page.events ?? []).map((e) => e.message ?? ""));
      if (page.events?.length === 0) {
        assert.equal(page.nextBackwardToken, back);
        break;
      }
      back = page.nextBackwardToken;
    }
    assert.deepEqual(backward, [...events.map((e) => e.message), "line 10"]);
  });

  it("keeps to startTime (inclusive) and endTime (exclusive)", async () => {
    const window = await get({ startFromHead: true, startTime: base + 1, endTime: base + 3 });
    assert.deepEqual(
      window.events?.map((e) => e.message),
      ["line 2", "line 3", "line 4", "line 5"],
    );
  });

  it("refuses tokens that are not its own, and unknown streams", async () => {
    await rejectsWith(
      get({ nextToken: "f/123" }),
      "InvalidParameterException",
      "The specified nextToken is invalid.",
    );
    await stream("get", "other", [{ timestamp: base, message: "x" }]);
    const other = await logs.send(
      new GetLogEventsCommand({ logGroupName: "get", logStreamName: "other" }),
    );
    await rejectsWith(
      get({ nextToken: other.nextForwardToken }),
      "InvalidParameterException",
      "The specified nextToken is invalid.",
    );
    await rejectsWith(
      logs.send(new GetLogEventsCommand({ logGroupName: "get", logStreamName: "nope" })),
      "ResourceNotFoundException",
      "The specified log stream does not exist.",
    );
    await rejectsWith(
      logs.send(new GetLogEventsCommand({ logGroupName: "nope", logStreamName: "nope" })),
      "ResourceNotFoundException",
      "The specified log group does not exist.",
    );
  });

  it("gives an empty stream tokens that later bring its first events", async () => {
    await stream("get", "empty");
    const empty = await logs.send(
      new GetLogEventsCommand({ logGroupName: "get", logStreamName: "empty" }),
    );
    assert.deepEqual(empty.events, []);
    assert.match(empty.nextForwardToken ?? "", /^f\/\d{56}\/s$/);
    assert.match(empty.nextBackwardToken ?? "", /^b\/\d{56}\/s$/);
    await logs.send(
      new PutLogEventsCommand({
        logGroupName: "get",
        logStreamName: "empty",
        logEvents: [{ timestamp: base, message: "first" }],
      }),
    );
    const later = await logs.send(
      new GetLogEventsCommand({
        logGroupName: "get",
        logStreamName: "empty",
        nextToken: empty.nextForwardToken,
      }),
    );
    assert.deepEqual(
      later.events?.map((e) => e.message),
      ["first"],
    );
  });
});

describe("FilterLogEvents", () => {
  const base = Date.now() - 30_000;
  before(async () => {
    await stream("filter", "app/web/1", [
      { timestamp: base, message: "ERROR disk full" },
      { timestamp: base + 2, message: '{"level":"warn","latency":900}' },
      { timestamp: base + 4, message: "INFO ok" },
    ]);
    await stream("filter", "app/web/2", [
      { timestamp: base + 1, message: "ERROR timeout" },
      { timestamp: base + 3, message: '{"level":"info","latency":20}' },
    ]);
    await stream("filter", "db/1", [{ timestamp: base + 5, message: "ERROR lock" }]);
  });
  const filter = (extra: Partial<ConstructorParameters<typeof FilterLogEventsCommand>[0]>) =>
    logs.send(new FilterLogEventsCommand({ logGroupName: "filter", ...extra }));

  it("interleaves every stream in timestamp order, with stream names and event ids", async () => {
    const all = await filter({});
    assert.deepEqual(
      all.events?.map((e) => [e.logStreamName, e.message]),
      [
        ["app/web/1", "ERROR disk full"],
        ["app/web/2", "ERROR timeout"],
        ["app/web/1", '{"level":"warn","latency":900}'],
        ["app/web/2", '{"level":"info","latency":20}'],
        ["app/web/1", "INFO ok"],
        ["db/1", "ERROR lock"],
      ],
    );
    assert.equal(new Set(all.events?.map((e) => e.eventId)).size, 6);
    assert.deepEqual(all.searchedLogStreams, []);
    assert.equal(all.nextToken, undefined);
  });

  it("applies patterns, stream names, prefixes and an inclusive time range", async () => {
    const errors = await filter({ filterPattern: "ERROR -lock" });
    assert.deepEqual(
      errors.events?.map((e) => e.message),
      ["ERROR disk full", "ERROR timeout"],
    );
    const json = await filter({ filterPattern: "{ $.latency > 100 || $.level = info }" });
    assert.deepEqual(
      json.events?.map((e) => e.message),
      ['{"level":"warn","latency":900}', '{"level":"info","latency":20}'],
    );
    const named = await filter({ logStreamNames: ["db/1", "missing"] });
    assert.deepEqual(
      named.events?.map((e) => e.message),
      ["ERROR lock"],
    );
    const prefixed = await filter({
      logStreamNamePrefix: "app/web/",
      filterPattern: "?INFO ?timeout",
    });
    assert.deepEqual(
      prefixed.events?.map((e) => e.message),
      ["ERROR timeout", "INFO ok"],
    );
    const window = await filter({ startTime: base + 1, endTime: base + 3 });
    assert.equal(window.events?.length, 3);
    await rejectsWith(
      filter({ logStreamNames: ["db/1"], logStreamNamePrefix: "db" }),
      "InvalidParameterException",
    );
    await rejectsWith(
      filter({ filterPattern: "{ $.x = " }),
      "InvalidParameterException",
      /^Invalid filter pattern/,
    );
  });

  it("pages with nextToken until every match was returned once", async () => {
    const seen: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await filter({ limit: 2, nextToken });
      assert.ok((page.events?.length ?? 0) <= 2);
      seen.push(...(page.events ?? []).map((e) => e.message ?? ""));
      nextToken = page.nextToken;
    } while (nextToken !== undefined);
    assert.equal(seen.length, 6);
    assert.equal(new Set(seen).size, 6);
    await rejectsWith(
      filter({ nextToken: "nope" }),
      "InvalidParameterException",
      "The specified nextToken is invalid.",
    );
  });
});

describe("retention", () => {
  it("never returns events older than the group's retention", async () => {
    const now = Date.now();
    await stream("retained", "s", [
      { timestamp: now - 4 * DAY, message: "four days" },
      { timestamp: now - 4 * DAY + 1, message: "four days too" },
    ]);
    await logs.send(
      new PutLogEventsCommand({
        logGroupName: "retained",
        logStreamName: "s",
        logEvents: [{ timestamp: now, message: "today" }],
      }),
    );
    await logs.send(
      new PutRetentionPolicyCommand({ logGroupName: "retained", retentionInDays: 3 }),
    );
    const got = await logs.send(
      new GetLogEventsCommand({
        logGroupName: "retained",
        logStreamName: "s",
        startFromHead: true,
      }),
    );
    assert.deepEqual(
      got.events?.map((e) => e.message),
      ["today"],
    );
    const filtered = await logs.send(new FilterLogEventsCommand({ logGroupName: "retained" }));
    assert.deepEqual(
      filtered.events?.map((e) => e.message),
      ["today"],
    );
    await logs.send(new DeleteRetentionPolicyCommand({ logGroupName: "retained" }));
    const back = await logs.send(new FilterLogEventsCommand({ logGroupName: "retained" }));
    // Until the sweep deletes them, removing the policy shows them again, as on AWS.
    assert.ok((back.events?.length ?? 0) >= 1);
  });
});

describe("tags", () => {
  it("keeps a group's tags from creation, tags and untags it by ARN", async () => {
    await logs.send(new CreateLogGroupCommand({ logGroupName: "tagged", tags: { team: "a" } }));
    const resourceArn = "arn:aws:logs:us-east-1:000000000000:log-group:tagged";
    await logs.send(new TagResourceCommand({ resourceArn, tags: { env: "dev", team: "b" } }));
    const listed = await logs.send(new ListTagsForResourceCommand({ resourceArn }));
    assert.deepEqual(listed.tags, { team: "b", env: "dev" });
    await logs.send(new UntagResourceCommand({ resourceArn, tagKeys: ["team"] }));
    const byName = await logs.send(new ListTagsLogGroupCommand({ logGroupName: "tagged" }));
    assert.deepEqual(byName.tags, { env: "dev" });
    // The older by-name actions write the same tags (issue 13 #27).
    await logs.send(new TagLogGroupCommand({ logGroupName: "tagged", tags: { owner: "ops" } }));
    await logs.send(new UntagLogGroupCommand({ logGroupName: "tagged", tags: ["env"] }));
    assert.deepEqual((await logs.send(new ListTagsForResourceCommand({ resourceArn }))).tags, {
      owner: "ops",
    });
    await rejectsWith(
      logs.send(new TagLogGroupCommand({ logGroupName: "absent", tags: { a: "b" } })),
      "ResourceNotFoundException",
    );
    await logs.send(new UntagLogGroupCommand({ logGroupName: "tagged", tags: ["owner"] }));
    await logs.send(new TagResourceCommand({ resourceArn, tags: { env: "dev" } }));
    await rejectsWith(
      logs.send(
        new ListTagsForResourceCommand({
          resourceArn: "arn:aws:logs:us-east-1:000000000000:log-group:absent",
        }),
      ),
      "ResourceNotFoundException",
    );
    const many = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, "v"]));
    await rejectsWith(
      logs.send(new TagResourceCommand({ resourceArn, tags: many })),
      "TooManyTagsException",
    );
  });
});
