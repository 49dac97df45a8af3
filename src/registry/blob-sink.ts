/**
 * The hot path of every push: a Writable that hashes each chunk as it passes and writes the
 * chunks to a file descriptor, batched with writev while a write is in flight. The hash is
 * computed once, while streaming, never by reading the file back. Memory stays bounded by the
 * high-water mark whatever the blob size: backpressure reaches the socket through pipeline().
 *
 * A full disk (ENOSPC, EDQUOT) does not fail the stream: the sink stops writing and reads the
 * rest of the body to nowhere, so the pusher gets an answer instead of a connection reset (a
 * close over unread bytes resets it), and streamToFile then throws diskFull.
 */
import { fdatasync, writev } from "node:fs";
import type { Hash } from "node:crypto";
import { Writable } from "node:stream";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { diskFull } from "./errors.js";

function isDiskFull(error: NodeJS.ErrnoException): boolean {
  return error.code === "ENOSPC" || error.code === "EDQUOT";
}

/** Big enough that the socket keeps flowing while one writev is in the thread pool. */
const HIGH_WATER_MARK = 4 * 1024 * 1024;
/**
 * Every this many bytes, an fdatasync starts in the background: the disk flushes what came
 * so far while more arrives, so the fsync before the rename only waits for the tail.
 */
const FLUSH_EVERY = 32 * 1024 * 1024;

export class HashingFileSink extends Writable {
  #position: number;
  #unflushed = 0;
  #flushing: Promise<void> | undefined;
  written = 0;
  /** The disk-full error that stopped the writes; what follows is read and dropped. */
  full: NodeJS.ErrnoException | undefined;

  constructor(
    private readonly fd: number,
    position: number,
    private readonly hashes: Hash[],
  ) {
    super({ highWaterMark: HIGH_WATER_MARK, decodeStrings: true });
    this.#position = position;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (e?: Error | null) => void) {
    this.#writeAll([chunk], callback);
  }

  override _writev(
    chunks: Array<{ chunk: Buffer; encoding: BufferEncoding }>,
    callback: (e?: Error | null) => void,
  ) {
    this.#writeAll(
      chunks.map((c) => c.chunk),
      callback,
    );
  }

  /** Waits for a background flush, so the fd is not closed under it. */
  override _final(callback: (e?: Error | null) => void): void {
    if (this.#flushing === undefined) return callback();
    this.#flushing.then(() => callback(), callback);
  }

  override _destroy(error: Error | null, callback: (e?: Error | null) => void): void {
    if (this.#flushing === undefined) return callback(error);
    this.#flushing.then(() => callback(error), callback);
  }

  #writeAll(buffers: Buffer[], callback: (e?: Error | null) => void): void {
    if (this.full !== undefined) return callback();
    for (const hash of this.hashes) for (const buffer of buffers) hash.update(buffer);
    let pending = buffers;
    const step = (): void => {
      writev(this.fd, pending, this.#position, (error, bytes) => {
        if (error) {
          if (!isDiskFull(error)) return callback(error);
          this.full = error;
          return callback();
        }
        this.#position += bytes;
        this.written += bytes;
        this.#unflushed += bytes;
        if (this.#unflushed >= FLUSH_EVERY && this.#flushing === undefined) {
          this.#unflushed = 0;
          this.#flushing = new Promise<void>((resolve) => fdatasync(this.fd, () => resolve()));
          void this.#flushing.then(() => (this.#flushing = undefined));
        }
        pending = skip(pending, bytes);
        if (pending.length === 0) callback();
        else step(); // a short write: only on a full disk or a signal, but never lose bytes
      });
    };
    step();
  }
}

function skip(buffers: Buffer[], bytes: number): Buffer[] {
  let left = bytes;
  const rest: Buffer[] = [];
  for (const buffer of buffers) {
    if (left >= buffer.length) {
      left -= buffer.length;
      continue;
    }
    rest.push(left > 0 ? buffer.subarray(left) : buffer);
    left = 0;
  }
  return rest;
}

/** Streams `source` into `fd` at `position`, feeding `hashes`; resolves with the bytes written. */
export async function streamToFile(
  source: Readable,
  fd: number,
  position: number,
  hashes: Hash[],
): Promise<number> {
  const sink = new HashingFileSink(fd, position, hashes);
  await pipeline(source, sink);
  if (sink.full !== undefined) throw diskFull(sink.written, sink.full);
  return sink.written;
}
