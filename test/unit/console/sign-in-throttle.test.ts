// Guessing secrets through the console's sign-in is slowed per address.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MAX_FAILURES, SignInThrottle, WINDOW_MS } from "../../../src/console/sign-in-throttle.js";

describe("console sign-in throttle", () => {
  it("refuses an address after repeated failures until the window passes", () => {
    let now = 1_000_000;
    const throttle = new SignInThrottle(() => now);
    for (let i = 0; i < MAX_FAILURES - 1; i++) throttle.failed("10.0.0.1");
    assert.equal(throttle.retryAfter("10.0.0.1"), 0, "a few mistakes are allowed");
    throttle.failed("10.0.0.1");
    assert.equal(throttle.retryAfter("10.0.0.1"), WINDOW_MS);
    assert.equal(throttle.retryAfter("10.0.0.2"), 0, "other addresses are not affected");
    now += WINDOW_MS - 1;
    assert.equal(throttle.retryAfter("10.0.0.1"), 1);
    now += 1;
    assert.equal(throttle.retryAfter("10.0.0.1"), 0);
  });

  it("a success clears the address's failures", () => {
    const throttle = new SignInThrottle(() => 0);
    for (let i = 0; i < MAX_FAILURES - 1; i++) throttle.failed("a");
    throttle.succeeded("a");
    throttle.failed("a");
    assert.equal(throttle.retryAfter("a"), 0);
  });
});
