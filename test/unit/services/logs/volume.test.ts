/**
 * 110,000 events in one stream (runs of 50 sharing a timestamp), read back whole through
 * GetLogEvents and FilterLogEvents pages: every event once, in order, no page over 1 MB.
 */
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  CreateLogStreamCommand,
  FilterLogEventsCommand,
  GetLogEventsCommand,
  PutLogEventsCommand,
} from "@aws-sdk/client-cloudwatch-logs";
import { startBerthInProcess, type TestBerth } from "../../../../src/testing/index.js";

const TOTAL = 110_000;
// 5,000 events of ~180 bytes: under PutLogEvents' 1 MiB a batch.
const BATCH = 5_000;
const PADDING = "x".repeat(150);
const MAX_PAGE_BYTES = 1_048_576;

let berth: TestBerth;
let logs: CloudWatchLogsClient;
const base = Date.now() - 60 * 60 * 1000;

const pageBytes = (events: { message?: string }[]): number =>
  events.reduce((sum, e) => sum + Buffer.byteLength(e.message ?? "") + 26, 0);

before(async () => {
  berth = await startBerthInProcess();
  logs = new CloudWatchLogsClient(berth.clientConfig);
  await logs.send(new CreateLogGroupCommand({ logGroupName: "big" }));
  await logs.send(new CreateLogStreamCommand({ logGroupName: "big", logStreamName: "s" }));
  await logs.send(new CreateLogStreamCommand({ logGroupName: "big", logStreamName: "other" }));
  for (let start = 0; start < TOTAL; start += BATCH) {
    const logEvents = Array.from({ length: BATCH }, (_, i) => ({
      timestamp: base + Math.floor((start + i) / 50),
      message: `${start + i} ${PADDING}`,
    }));
    await logs.send(
      new PutLogEventsCommand({ logGroupName: "big", logStreamName: "s", logEvents }),
    );
  }
  // A second stream interleaved in time, which a filter on the first must step over.
  await logs.send(
    new PutLogEventsCommand({
      logGroupName: "big",
      logStreamName: "other",
      logEvents: Array.from({ length: 1000 }, (_, i) => ({
        timestamp: base + i * 2,
        message: `other ${i}`,
      })),
    }),
  );
});
after(async () => {
  logs.destroy();
  await berth.stop();
});

it("GetLogEvents pages forward through every event in order", async () => {
  let expected = 0;
  let token: string | undefined;
  let pages = 0;
  let totalBytes = 0;
  for (;;) {
    const page = await logs.send(
      new GetLogEventsCommand({
        logGroupName: "big",
        logStreamName: "s",
        startFromHead: true,
        nextToken: token,
      }),
    );
    const events = page.events ?? [];
    assert.ok(pageBytes(events) <= MAX_PAGE_BYTES);
    if (events.length === 0) {
      assert.equal(page.nextForwardToken, token);
      break;
    }
    for (const event of events) {
      assert.equal(event.message, `${expected} ${PADDING}`);
      assert.equal(event.timestamp, base + Math.floor(expected / 50));
      expected++;
    }
    totalBytes += pageBytes(events);
    token = page.nextForwardToken;
    pages++;
  }
  assert.equal(expected, TOTAL);
  // The 1 MB cap, not the 10,000-event default, decides the page size.
  assert.equal(pages, Math.ceil(totalBytes / MAX_PAGE_BYTES));
});

it("GetLogEvents pages backward from the tail through every event", async () => {
  let expected = TOTAL - 1;
  let token: string | undefined;
  for (;;) {
    const page = await logs.send(
      new GetLogEventsCommand({
        logGroupName: "big",
        logStreamName: "s",
        limit: 7000,
        nextToken: token,
      }),
    );
    const events = page.events ?? [];
    if (events.length === 0) break;
    for (const event of [...events].reverse()) {
      assert.equal(event.message, `${expected} ${PADDING}`);
      expected--;
    }
    token = page.nextBackwardToken;
  }
  assert.equal(expected, -1);
});

it("FilterLogEvents pages through one stream's matches in order", async () => {
  let expected = 0;
  let nextToken: string | undefined;
  do {
    const page = await logs.send(
      new FilterLogEventsCommand({
        logGroupName: "big",
        logStreamNames: ["s"],
        filterPattern: `"${PADDING}"`,
        nextToken,
      }),
    );
    assert.ok(pageBytes(page.events ?? []) <= MAX_PAGE_BYTES);
    for (const event of page.events ?? []) {
      assert.equal(event.message, `${expected} ${PADDING}`);
      expected++;
    }
    nextToken = page.nextToken;
  } while (nextToken !== undefined);
  assert.equal(expected, TOTAL);
});
