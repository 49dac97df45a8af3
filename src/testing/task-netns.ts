/** Finding a task's network namespace on its host, as tests that enter it need. */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

/**
 * The namespace file of a task the agent at `agentDir` runs: its sandbox record says which (a
 * launch that took a prepared sandbox keeps the namespace's own name, not the task's id).
 */
export function taskNetns(agentDir: string, taskArn: string): string {
  const taskId = taskArn.split("/").pop() ?? "";
  const record = join(agentDir, "sandboxes", `${taskId}.json`);
  assert.ok(existsSync(record), `no sandbox record at ${record}`);
  const { netnsPath } = JSON.parse(readFileSync(record, "utf8")) as { netnsPath: string };
  assert.ok(existsSync(netnsPath), `no netns file at ${netnsPath}`);
  return netnsPath;
}
