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

/** A server that welcomes one host and counts its pings; `talk` sends it a message. */
async function fakeServer(): Promise<{
  url: string;
  pings: () => number;
  talk: () => void;
  close: () => Promise<void>;
}> {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, path: AGENT_CHANNEL_PATH });
  await new Promise((resolve) => wss.once("listening", resolve));
  let pings = 0;
  let socket: WebSocket | undefined;
  wss.on("connection", (ws) => {
    socket = ws;
    ws.on("ping", () => pings++);
    ws.once("message", () =>
      ws.send(JSON.stringify({ type: "welcome", hostId: "h1", lastSeq: -1 })),
    );
  });
  return {
    url: `http://127.0.0.1:${(wss.address() as AddressInfo).port}`,
    pings: () => pings,
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
