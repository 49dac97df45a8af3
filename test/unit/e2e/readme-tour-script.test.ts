// How the README tour test reads the tour: blocks cut into commands as a shell reads them.
import assert from "node:assert/strict";
import { it } from "node:test";
import { expectedPattern, splitCommands, tourCommands } from "../../e2e/readme-tour/script.js";

it("cuts a block at newlines, not inside quotes, $(...), continuations or pipes", () => {
  const commands = splitCommands(
    [
      'aws ecs register --x \'[{"a":1,',
      '  "b":2}]\'   # revision 2',
      "A=$(aws ecs run \\",
      "    --query 'x' --output text)",
      "aws ecr get-login-password |",
      "    podman login --password-stdin",
      "# -> Login Succeeded!",
      "# a remark, not an output",
      'echo "# not a comment" # a note',
    ].join("\n"),
  );
  assert.deepEqual(
    commands.map((c) => [c.text, c.note, c.expected]),
    [
      ['aws ecs register --x \'[{"a":1,\n  "b":2}]\'', "revision 2", []],
      ["A=$(aws ecs run \\\n    --query 'x' --output text)", "", []],
      ["aws ecr get-login-password |\n    podman login --password-stdin", "", ["Login Succeeded!"]],
      ['echo "# not a comment"', "a note", []],
    ],
  );
});

it("reads only the tour section's sh blocks", () => {
  const readme = [
    "# X",
    "```sh\nnpm run up\n```",
    "## A five-minute tour",
    "```sh\none\n```",
    "text",
    "```\nnot sh\n```",
    "### Sub",
    "```sh\ntwo\nthree\n```",
    "## Next",
    "```sh\nfour\n```",
  ].join("\n");
  assert.deepEqual(
    tourCommands(readme).map((c) => [c.block, c.text]),
    [
      [0, "one"],
      [1, "two"],
      [1, "three"],
    ],
  );
});

it("matches `# -> ...` lines with ... as anything and without a trailing remark", () => {
  const pattern = expectedPattern("An error (X) ...: No such thing.   (what ECS says)");
  assert.match("An error (X) occurred when calling: No such thing.", pattern);
  assert.doesNotMatch("An error (X): Another thing.", pattern);
});
