/** What tests assert of an AWS-shaped refusal: the SDK error's name and, when given, its text. */
import assert from "node:assert/strict";

/**
 * Awaits `promise` and asserts it fails with the AWS error `name`; a string `message` must be the
 * error's whole text (AWS's texts are byte-exact), a pattern must match it.
 */
export async function rejectsWith(
  promise: Promise<unknown>,
  name: string,
  message?: string | RegExp,
): Promise<void> {
  await assert.rejects(promise, (error: Error) => {
    assert.equal(error.name, name);
    if (typeof message === "string") assert.equal(error.message, message);
    else if (message !== undefined) assert.match(error.message, message);
    return true;
  });
}
