/**
 * appendLogEvents (the awslogs driver's direct path) and the retention sweep, writing through a
 * second connection to a running Berth's database and reading back through the API.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  CloudWatchLogsClient,
  DescribeLogGroupsCommand,
  DescribeLogStreamsCommand,
  GetLogEventsCommand,
  PutRetentionPolicyCommand,
} from "@aws-sdk/client-cloudwatch-logs";
import { ManualClock, silentLogger } from "../../../../src/core/index.js";
import {
  appendLogEvents,
  startLogRetention,
  sweepExpiredLogEvents,
} from "../../../../src/services/logs/index.js";
import { openSqliteStore, type Store } from "../../../../src/store/index.js";
import { startBerthInProcess, type TestBerth } from "../../../../src/testing/index.js";

let berth: TestBerth;
let logs: CloudWatchLogsClient;
let store: Store;
const DAY = 24 * 60 * 60 * 1000;

before(async () => {
  berth = await startBerthInProcess();
  logs = new CloudWatchLogsClient(berth.clientConfig);
  store = await openSqliteStore(join(berth.dataDir, "berth.db"));
});
after(async () => {
  logs.destroy();
  await store.destroy();
  await berth.stop();
});

async function messages(group: string, stream: string): Promise<string[]> {
  const out: string[] = [];
  let token: string | undefined;
  for (;;) {
    const page = await logs.send(
      new GetLogEventsCommand({
        logGroupName: group,
        logStreamName: stream,
        startFromHead: true,
        nextToken: token,
      }),
    );
    if (page.events?.length === 0) return out;
    out.push(...(page.events ?? []).map((e) => e.message ?? ""));
    token = page.nextForwardToken;
  }
}

describe("appendLogEvents", () => {
  it("fails on a missing group unless asked to create it, then creates group and stream", async () => {
    const events = [{ timestamp: Date.now(), message: "hello" }];
    await assert.rejects(
      appendLogEvents(store, { group: "/ecs/app", stream: "web/app/t1", events }),
      (error: Error & { code?: string }) => error.code === "ResourceNotFoundException",
    );
    const result = await appendLogEvents(store, {
      group: "/ecs/app",
      stream: "web/app/t1",
      createGroup: true,
      events,
    });
    assert.deepEqual(result, { appended: 1, skipped: 0, appendOffset: null });
    const streams = await logs.send(new DescribeLogStreamsCommand({ logGroupName: "/ecs/app" }));
    assert.deepEqual(
      streams.logStreams?.map((s) => s.logStreamName),
      ["web/app/t1"],
    );
    assert.deepEqual(await messages("/ecs/app", "web/app/t1"), ["hello"]);
  });

  it("skips lines at or below the stream's last offset, so a resend adds nothing", async () => {
    const now = Date.now();
    const line = (offset: number) => ({ timestamp: now + offset, message: `l${offset}`, offset });
    const first = await appendLogEvents(store, {
      group: "/ecs/once",
      stream: "s",
      createGroup: true,
      events: [line(10), line(20), line(30)],
    });
    assert.deepEqual(first, { appended: 3, skipped: 0, appendOffset: 30 });
    const resend = await appendLogEvents(store, {
      group: "/ecs/once",
      stream: "s",
      events: [line(20), line(30), line(40)],
    });
    assert.deepEqual(resend, { appended: 1, skipped: 2, appendOffset: 40 });
    const offsetOf = async (stream: string) =>
      (
        await store
          .selectFrom("log_streams")
          .innerJoin("log_groups", "log_groups.id", "log_streams.group_id")
          .select("append_offset")
          .where("log_groups.name", "=", "/ecs/once")
          .where("log_streams.name", "=", stream)
          .executeTakeFirst()
      )?.append_offset ?? null;
    assert.equal(await offsetOf("s"), 40);
    assert.equal(await offsetOf("none"), null);
    assert.deepEqual(await messages("/ecs/once", "s"), ["l10", "l20", "l30", "l40"]);
  });

  it("keeps write order when the clock goes back, drops empty lines, splits long ones", async () => {
    const now = Date.now();
    const long = "é".repeat(200_000); // 400,000 bytes: two pieces
    await appendLogEvents(store, {
      group: "/ecs/order",
      stream: "s",
      createGroup: true,
      events: [
        { timestamp: now, message: "one" },
        { timestamp: now - 5000, message: "two" },
        { timestamp: now - 5000, message: "" },
        { timestamp: now + 1, message: long },
      ],
    });
    await appendLogEvents(store, {
      group: "/ecs/order",
      stream: "s",
      events: [{ timestamp: now - 10_000, message: "three" }],
    });
    const got = await logs.send(
      new GetLogEventsCommand({
        logGroupName: "/ecs/order",
        logStreamName: "s",
        startFromHead: true,
      }),
    );
    const stored = got.events ?? [];
    assert.deepEqual(
      stored.map((e) => (e.message === undefined || e.message.length > 10 ? "piece" : e.message)),
      ["one", "two", "piece", "piece", "three"],
    );
    assert.deepEqual(
      stored.map((e) => e.timestamp),
      [now, now, now + 1, now + 1, now + 1],
    );
    const pieces = stored.slice(2, 4).map((e) => e.message ?? "");
    assert.equal(pieces.join(""), long);
    for (const piece of pieces) assert.ok(Buffer.byteLength(piece) <= 262_144 - 26);
  });

  it("serialises concurrent appends to one stream without losing a line", async () => {
    const now = Date.now();
    await Promise.all(
      Array.from({ length: 8 }, (_, writer) =>
        appendLogEvents(store, {
          group: "/ecs/busy",
          stream: "s",
          createGroup: true,
          events: Array.from({ length: 50 }, (_, i) => ({
            timestamp: now,
            message: `w${writer}-${i}`,
          })),
        }),
      ),
    );
    const got = await messages("/ecs/busy", "s");
    assert.equal(got.length, 400);
    for (let writer = 0; writer < 8; writer++) {
      const mine = got.filter((m) => m.startsWith(`w${writer}-`));
      assert.deepEqual(
        mine,
        Array.from({ length: 50 }, (_, i) => `w${writer}-${i}`),
      );
    }
  });
});

describe("retention sweep", () => {
  it("deletes events past retention, keeps the rest, and lowers storedBytes", async () => {
    const now = Date.now();
    await appendLogEvents(store, {
      group: "/ecs/sweep",
      stream: "s",
      createGroup: true,
      events: [
        ...Array.from({ length: 12_000 }, (_, i) => ({
          timestamp: now - 10 * DAY + i,
          message: "0123456789",
        })),
        { timestamp: now, message: "fresh" },
      ],
    });
    const before = await logs.send(
      new DescribeLogGroupsCommand({ logGroupNamePrefix: "/ecs/sweep" }),
    );
    assert.equal(before.logGroups?.[0]?.storedBytes, 12_000 * 10 + 5);
    await logs.send(
      new PutRetentionPolicyCommand({ logGroupName: "/ecs/sweep", retentionInDays: 7 }),
    );

    assert.equal(await sweepExpiredLogEvents(store, new Date(now)), 12_000);
    const rows = await store
      .selectFrom("log_events")
      .innerJoin("log_groups", "log_groups.id", "log_events.group_id")
      .select("log_events.message")
      .where("log_groups.name", "=", "/ecs/sweep")
      .execute();
    assert.deepEqual(
      rows.map((r) => r.message),
      ["fresh"],
    );
    const afterSweep = await logs.send(
      new DescribeLogGroupsCommand({ logGroupNamePrefix: "/ecs/sweep" }),
    );
    assert.equal(afterSweep.logGroups?.[0]?.storedBytes, 5);
    assert.equal(await sweepExpiredLogEvents(store, new Date(now)), 0);
  });

  it("runs on start and on demand until closed", async () => {
    const clock = new ManualClock(Date.now());
    await appendLogEvents(store, {
      group: "/ecs/timer",
      stream: "s",
      createGroup: true,
      events: [{ timestamp: clock.now().getTime(), message: "x" }],
    });
    await logs.send(
      new PutRetentionPolicyCommand({ logGroupName: "/ecs/timer", retentionInDays: 1 }),
    );
    const retention = startLogRetention({ store, clock, log: silentLogger, intervalMs: 3_600_000 });
    try {
      assert.equal(await retention.sweep(), 0);
      clock.advance(2 * DAY);
      assert.equal(await retention.sweep(), 1);
    } finally {
      await retention.close();
    }
    assert.equal(await retention.sweep(), 0);
  });

  it("asks the caller's authorize for each write it will make, and writes nothing refused", async () => {
    const identity = { accountId: "000000000000", region: "us-east-1" };
    const asked: string[] = [];
    const allowing = (refuse?: string) => ({
      identity,
      check: async (action: string, resource: string): Promise<void> => {
        asked.push(`${action} ${resource}`);
        if (action === refuse) throw new Error(`refused ${action}`);
      },
    });
    const line = { timestamp: Date.now(), message: "secret-looking line" };
    const groupArn = "arn:aws:logs:us-east-1:000000000000:log-group:/ecs/authz";
    // A new group with createGroup: group, stream, events.
    await appendLogEvents(store, {
      group: "/ecs/authz",
      stream: "a",
      createGroup: true,
      events: [line],
      authorize: allowing(),
    });
    assert.deepEqual(asked.splice(0), [
      `logs:CreateLogGroup ${groupArn}:*`,
      `logs:CreateLogStream ${groupArn}:log-stream:a`,
      `logs:PutLogEvents ${groupArn}:log-stream:a`,
    ]);
    // Both exist now: only the events; opening (no events) asks nothing.
    await appendLogEvents(store, {
      group: "/ecs/authz",
      stream: "a",
      events: [line],
      authorize: allowing(),
    });
    await appendLogEvents(store, {
      group: "/ecs/authz",
      stream: "a",
      events: [],
      authorize: allowing(),
    });
    assert.deepEqual(asked.splice(0), [`logs:PutLogEvents ${groupArn}:log-stream:a`]);
    // Refused: neither the stream nor its lines are written.
    await assert.rejects(
      appendLogEvents(store, {
        group: "/ecs/authz",
        stream: "b",
        events: [line],
        authorize: allowing("logs:CreateLogStream"),
      }),
      /refused logs:CreateLogStream/,
    );
    const streams = await logs.send(new DescribeLogStreamsCommand({ logGroupName: "/ecs/authz" }));
    assert.deepEqual(
      streams.logStreams?.map((s) => s.logStreamName),
      ["a"],
    );
    await assert.rejects(
      appendLogEvents(store, {
        group: "/ecs/authz",
        stream: "a",
        events: [{ ...line, message: "not written" }],
        authorize: allowing("logs:PutLogEvents"),
      }),
      /refused logs:PutLogEvents/,
    );
    assert.deepEqual(await messages("/ecs/authz", "a"), [line.message, line.message]);
  });
});
