/** GetLogEvents tokens: AWS's shape, bound to one stream, refused when forged. */
import assert from "node:assert/strict";
import { it } from "node:test";
import {
  decodeEventToken,
  encodeEventToken,
  eventId,
} from "../../../../src/services/logs/tokens.js";

it("round-trips direction and position in AWS's f/<56 digits>/s shape", () => {
  const position = { timestamp: 1_795_708_640_000, seq: 123_456 };
  const forward = encodeEventToken("f", 42, position);
  assert.match(forward, /^f\/\d{56}\/s$/);
  assert.deepEqual(decodeEventToken(forward, 42), { direction: "f", position });
  const backward = encodeEventToken("b", 42, position);
  assert.match(backward, /^b\/\d{56}\/s$/);
  assert.deepEqual(decodeEventToken(backward, 42), { direction: "b", position });
  // AWS's older tokens had no "/s"; those are read as well.
  assert.deepEqual(decodeEventToken(forward.slice(0, -2), 42).position, position);
});

it("orders tokens of one stream as their events are ordered", () => {
  const a = encodeEventToken("f", 1, { timestamp: 5, seq: 900 });
  const b = encodeEventToken("f", 1, { timestamp: 6, seq: 1 });
  assert.ok(a < b);
  assert.match(eventId(1, { timestamp: 5, seq: 900 }), /^\d{56}$/);
});

it("refuses another stream's token and anything not a token", () => {
  const token = encodeEventToken("f", 7, { timestamp: 1, seq: 2 });
  for (const bad of [
    () => decodeEventToken(token, 8),
    () => decodeEventToken("f/123", 7),
    () => decodeEventToken(token.replace(/^f/, "x"), 7),
    () => decodeEventToken(`f/${"9".repeat(56)}/s`, 7),
  ])
    assert.throws(bad, (error: Error & { code?: string }) => {
      assert.equal(error.code, "InvalidParameterException");
      assert.equal(error.message, "The specified nextToken is invalid.");
      return true;
    });
});
