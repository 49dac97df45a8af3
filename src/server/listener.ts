/**
 * The one port, plain and TLS: each connection's first byte says which it speaks (0x16 opens a
 * TLS handshake; no HTTP method starts with it), so the AWS endpoint keeps `http://` for the
 * tools that use it while agents on other machines (and registry clients that want it) reach
 * the same listener over TLS with a certificate from Berth's CA. Both kinds end up in the same
 * HTTP server: one set of routes, and `req.socket.encrypted` tells which a request came over.
 */
import type { Server as HttpServer } from "node:http";
import { createServer as createNetServer, type AddressInfo, type Socket } from "node:net";
import { createServer as createTlsServer } from "node:tls";
import { raiseOpenFilesLimit, type Logger } from "../core/index.js";
import { apiConnectionLimits, limitConnections } from "./http.js";

/** The first byte of a TLS record carrying a handshake. */
const TLS_HANDSHAKE = 0x16;

export interface ListenOptions {
  host: string;
  port: number;
  /** The serving certificate (with its CA after it, so clients can pin the CA) and key. */
  tls: { cert: string; key: string };
  log: Logger;
}

export interface BerthListener {
  port: number;
  /** Stops accepting, closes idle connections and resolves once every connection has ended. */
  close(): Promise<void>;
}

/** Listens on `host:port` and hands every connection, plain or decrypted, to `http`. */
export async function listenBerth(
  http: HttpServer,
  options: ListenOptions,
): Promise<BerthListener> {
  // The soft open files limit up to the hard one first: the limits below are sized from it.
  raiseOpenFilesLimit(options.log);
  const limits = apiConnectionLimits();
  const tls = createTlsServer({
    cert: options.tls.cert,
    key: options.tls.key,
    minVersion: "TLSv1.2",
    handshakeTimeout: limits.headersMs,
  });
  tls.on("secureConnection", (socket) => http.emit("connection", socket));
  // A failed handshake (a client that does not trust us, a scanner) is the client's business.
  tls.on("tlsClientError", (error, socket) => {
    options.log.debug("tls handshake failed", {
      remote: socket.remoteAddress,
      error: error.message,
    });
    socket.destroy();
  });
  const front = createNetServer({ pauseOnConnect: true }, (socket: Socket) => {
    // A connection that says nothing is closed as one that sends no headers would be.
    const silent = setTimeout(() => socket.destroy(), limits.headersMs);
    socket.once("close", () => clearTimeout(silent));
    socket.on("error", () => socket.destroy());
    socket.once("data", (chunk: Buffer) => {
      clearTimeout(silent);
      socket.pause();
      socket.unshift(chunk);
      (chunk[0] === TLS_HANDSHAKE ? tls : http).emit("connection", socket);
      process.nextTick(() => socket.resume());
    });
    socket.resume();
  });
  limitConnections(front, limits, options.log);
  await new Promise<void>((resolve, reject) => {
    front.once("error", reject);
    front.listen(options.port, options.host, () => {
      front.off("error", reject);
      resolve();
    });
  });
  // The HTTP server does not listen itself; 'listening' starts its connection tracking (header
  // timeouts, closeIdleConnections), as its own listen would.
  http.emit("listening");
  return {
    port: (front.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        front.close(() => resolve());
        // Also stops the HTTP server's connection checks (it reports "not running": it is not).
        http.close(() => undefined);
      }),
  };
}
