/**
 * The channel's silence timer against a real socket: data that arrived while the event loop was
 * busy past the timeout counts as heard (it is read before the timer decides), and real silence
 * still ends the channel.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, connect, type AddressInfo, type Socket } from "node:net";
import { describe, it } from "node:test";
import { idleTimer } from "../../../src/control/idle-timer.js";

async function socketPair(): Promise<{ client: Socket; server: Socket; close(): void }> {
  const listener = createServer();
  listener.listen(0, "127.0.0.1");
  await once(listener, "listening");
  const accepted = once(listener, "connection") as Promise<[Socket]>;
  const client = connect((listener.address() as AddressInfo).port, "127.0.0.1");
  await once(client, "connect");
  const [server] = await accepted;
  return {
    client,
    server,
    close() {
      client.destroy();
      server.destroy();
      listener.close();
    },
  };
}

function busyFor(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // The event loop is held, as a loaded server's is.
  }
}

describe("idleTimer", () => {
  it("counts what arrived while the event loop was busy past the timeout", async () => {
    const pair = await socketPair();
    let idled = false;
    const idle = idleTimer(() => (idled = true));
    pair.server.on("data", () => idle.touch(100));
    try {
      idle.touch(100);
      // The peer speaks while the server's loop is held past the timeout, before it reads.
      pair.client.write("heartbeat");
      busyFor(150);
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(idled, false, "a live peer was dropped");
      // Real silence still ends it.
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(idled, true);
    } finally {
      idle.stop();
      pair.close();
    }
  });

  it("does nothing once stopped", async () => {
    let idled = false;
    const idle = idleTimer(() => (idled = true));
    idle.touch(20);
    idle.stop();
    await new Promise((resolve) => setTimeout(resolve, 60));
    assert.equal(idled, false);
  });
});
