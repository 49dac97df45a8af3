import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { test } from "node:test";
import { meteredPieces } from "../../../../src/agent/images/index.js";

/** What a download of `sizes` pieces reaches its file as, and what was seen on the way. */
async function through(sizes: number[], size: number) {
  const input = sizes.map((n) => randomBytes(n));
  const seen: number[] = [];
  const hash = createHash("sha256");
  const written: Buffer[] = [];
  await pipeline(
    Readable.from(input),
    meteredPieces((chunk) => {
      seen.push(chunk.length);
      hash.update(chunk);
    }, size),
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        written.push(chunk);
        callback();
      },
    }),
  );
  return { input: Buffer.concat(input), seen, digest: hash.digest("hex"), written };
}

test("a download reaches its file in pieces of the size asked, the rest last, byte for byte", async () => {
  const { input, seen, digest, written } = await through([7, 20, 3, 31, 1, 9, 5], 32);
  assert.deepEqual(seen, [7, 20, 3, 31, 1, 9, 5]);
  assert.deepEqual(
    written.map((piece) => piece.length),
    [61, 15],
  );
  assert.ok(Buffer.concat(written).equals(input));
  assert.equal(digest, createHash("sha256").update(input).digest("hex"));
});

test("pieces that end on the size leave nothing for the end, and nothing comes of nothing", async () => {
  const exact = await through([16, 16, 32], 32);
  assert.deepEqual(
    exact.written.map((piece) => piece.length),
    [32, 32],
  );
  assert.ok(Buffer.concat(exact.written).equals(exact.input));
  const empty = await through([], 32);
  assert.deepEqual(empty.written, []);
});
