// The runtime's own "could not start" line, told apart from a command's output.
import assert from "node:assert/strict";
import { it } from "node:test";
import { runtimeStartFailure } from "../../../src/agent/task-exec.js";

it("reads runc's log line for a command not found, or not there", () => {
  assert.equal(
    runtimeStartFailure(
      'time="2026-12-05T09:01:07Z" level=error msg="exec failed: unable to start container process: exec: \\"nosuch\\": executable file not found in $PATH"\n',
    ),
    '"nosuch": executable file not found in $PATH',
  );
  assert.equal(
    runtimeStartFailure(
      'time="2026-12-05T09:01:00Z" level=error msg="exec failed: unable to start container process: exec: \\"/no/such\\": stat /no/such: no such file or directory"\n',
    ),
    '"/no/such": stat /no/such: no such file or directory',
  );
});

it("reads runc's coloured line on a terminal", () => {
  assert.equal(
    runtimeStartFailure(
      '\x1b[31mERRO\x1b[0m[0000] exec failed: unable to start container process: exec: "nosuch": executable file not found in $PATH \r\n',
    ),
    '"nosuch": executable file not found in $PATH',
  );
});

it("leaves anything else to be the command's output", () => {
  for (const text of [
    "hello\n",
    'time="x" level=info msg="exec failed: no"\n',
    'time="x" level=error msg="something else"\n',
    "ERRO[0000] other trouble\n",
    "",
  ])
    assert.equal(runtimeStartFailure(text), undefined, JSON.stringify(text));
});
