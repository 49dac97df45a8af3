// The agent's channel pings its server only once the server has been quiet (PING_WHEN_QUIET_MS),
// not at every heartbeat: a fake server counts the pings while the heartbeats' clock is driven
// by hand (node:test's mock timers: setInterval and Date), the socket itself real.
import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { afterEach, mock, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { WebSocketServer, type WebSocket } from "ws";
import { AgentChannel } from "../../../src/agent/channel.js";
import { silentLogger } from "../../../src/core/index.js";
import { AGENT_CHANNEL_PATH } from "../../../src/protocol/index.js";

afterEach(() => mock.timers.reset());

/**
 * A server that welcomes one host (with `welcome`'s extra fields) and counts its pings and
 * heartbeats; `talk` sends it a message.
 */
async function fakeServer(welcome: object = {}): Promise<{
  url: string;
  pings: () => number;
  heartbeats: () => number;
  talk: () => void;
  close: () => Promise<void>;
}> {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, path: AGENT_CHANNEL_PATH });
  await new Promise((resolve) => wss.once("listening", resolve));
  let pings = 0;
  let heartbeats = 0;
  let socket: WebSocket | undefined;
  wss.on("connection", (ws) => {
    socket = ws;
    ws.on("ping", () => pings++);
    ws.on("message", (data: Buffer) => {
      if ((JSON.parse(data.toString("utf8")) as { type: string }).type === "heartbeat")
        heartbeats++;
    });
    ws.once("message", () =>
      ws.send(JSON.stringify({ type: "welcome", hostId: "h1", lastSeq: -1, ...welcome })),
    );
  });
  return {
    url: `http://127.0.0.1:${(wss.address() as AddressInfo).port}`,
    pings: () => pings,
    heartbeats: () => heartbeats,
    talk: () => socket?.send(JSON.stringify({ type: "sync", tasks: [] })),
    close: () =>
      new Promise((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close(() => resolve());
      }),
  };
}

async function channelTo(url: string): Promise<AgentChannel> {
  const channel = new AgentChannel(
    url,
    { secret: "s" },
    {
      hostId: "h1",
      availabilityZone: "a",
      cpu: 1024,
      memory: 2048,
      capacityProviders: ["FARGATE"],
    },
    { snapshot: () => [], onMessage: () => undefined, onAcked: () => undefined },
    silentLogger,
  );
  channel.start();
  for (let i = 0; i < 200 && !channel.connected; i++) await sleep(10);
  assert.ok(channel.connected, "welcomed");
  return channel;
}

/** Twelve seconds of heartbeats (every 2 s), `each` run before each one. */
async function heartbeats(each: () => void): Promise<void> {
  for (let s = 2; s <= 12; s += 2) {
    each();
    await sleep(20);
    mock.timers.tick(2000);
    await sleep(20);
  }
}

test("a quiet server is pinged once it has been quiet 5 s, not at every heartbeat", async () => {
  mock.timers.enable({ apis: ["setInterval", "Date"], now: 1_000_000 });
  const server = await fakeServer();
  const channel = await channelTo(server.url);
  try {
    await heartbeats(() => undefined);
    // At 6 s and, its pong heard then, at 12 s (a ping per heartbeat was 6).
    assert.equal(server.pings(), 2);
  } finally {
    channel.close();
    await server.close();
  }
});

test("a server that talks is not pinged", async () => {
  mock.timers.enable({ apis: ["setInterval", "Date"], now: 1_000_000 });
  const server = await fakeServer();
  const channel = await channelTo(server.url);
  try {
    await heartbeats(() => server.talk());
    assert.equal(server.pings(), 0);
  } finally {
    channel.close();
    await server.close();
  }
});

test("heartbeats come every 2 s, or as often as the server's welcome says", async () => {
  mock.timers.enable({ apis: ["setInterval", "Date"], now: 1_000_000 });
  const server = await fakeServer();
  const channel = await channelTo(server.url);
  try {
    await heartbeats(() => undefined);
    assert.equal(server.heartbeats(), 6, "the agent's own beat: at 2, 4, ... 12 s");
  } finally {
    channel.close();
    await server.close();
  }
  const slower = await fakeServer({ heartbeatIntervalMs: 5_000 });
  const asked = await channelTo(slower.url);
  try {
    await heartbeats(() => undefined);
    assert.equal(slower.heartbeats(), 2, "at 5 and 10 s");
    // Still pinged when quiet, on the 2 s check (at 6 and 12 s).
    assert.equal(slower.pings(), 2);
  } finally {
    asked.close();
    await slower.close();
  }
});
