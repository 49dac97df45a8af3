// Runs `berth` (src/cli/main.ts) once per invocation given as JSON on stdin, in one process,
// and prints each one's exit code and output as JSON: the help test's child, so that capturing
// stdout never swallows the test runner's own report.
import { readFileSync } from "node:fs";
import { main } from "../../../src/cli/main.js";

interface Invocation {
  argv: string[];
  env?: NodeJS.ProcessEnv;
}

const invocations = JSON.parse(readFileSync(0, "utf8")) as Invocation[];
const results: Array<{ code: number; stdout: string; stderr: string }> = [];
const out = process.stdout.write.bind(process.stdout);
const err = process.stderr.write.bind(process.stderr);
for (const { argv, env = {} } of invocations) {
  let stdout = "";
  let stderr = "";
  process.stdout.write = ((chunk: string | Uint8Array) => {
    stdout += chunk.toString();
    return true;
  });
  process.stderr.write = ((chunk: string | Uint8Array) => {
    stderr += chunk.toString();
    return true;
  });
  try {
    const code = await main(argv, env);
    results.push({ code, stdout, stderr });
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
}
out(JSON.stringify(results));
process.exit(0);
