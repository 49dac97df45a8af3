/**
 * An idle-connection flood from one loopback address, for the connection-limit attack tests
 * (issue 12, item 5). Connections are opened in batches smaller than Node's listen backlog (511):
 * a burst past the accept queue leaves the kernel holding handshakes the server never accepts
 * (with SYN cookies, never at all), so the client sees "connected" for a connection the limit
 * cannot see, and a test would wait on closures that never come.
 */
import { connect, type Socket } from "node:net";
import { until } from "./wait.js";

export interface Flood {
  /** Connections the server has closed so far. */
  closed(): number;
  /** Closes every connection of the flood. */
  end(): void;
}

const BATCH = 128;

/** Opens `count` idle connections to 127.0.0.1:`port` from `localAddress`. */
export async function floodConnections(
  port: number,
  count: number,
  localAddress = "127.0.0.2",
): Promise<Flood> {
  const sockets: Socket[] = [];
  let closed = 0;
  for (let opened = 0; opened < count; opened += BATCH) {
    await Promise.all(
      Array.from(
        { length: Math.min(BATCH, count - opened) },
        () =>
          new Promise<void>((resolve) => {
            const socket = connect({ port, host: "127.0.0.1", localAddress });
            sockets.push(socket);
            socket.on("error", () => undefined);
            socket.once("close", () => {
              closed++;
              resolve();
            });
            socket.once("connect", () => resolve());
          }),
      ),
    );
    // One turn for the server's accepts (in this process too, in the tests) before the next batch.
    await new Promise((resolve) => setImmediate(resolve));
  }
  return {
    closed: () => closed,
    end: () => {
      for (const socket of sockets) socket.destroy();
    },
  };
}

/**
 * Floods `port` with `surplus` connections past one address's limit and waits (30 s at most) for
 * the server to close that surplus: what every connection-limit test first checks.
 */
export async function floodPastLimit(
  port: number,
  perAddress: number,
  surplus = 100,
): Promise<Flood> {
  const flood = await floodConnections(port, perAddress + surplus);
  try {
    await until(
      "the surplus over the per-address limit is closed",
      () => Promise.resolve(flood.closed()),
      (count) => count >= surplus,
      { timeoutMs: 30_000 },
    );
    return flood;
  } catch (error) {
    flood.end();
    throw error;
  }
}
