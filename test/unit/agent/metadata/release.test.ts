/**
 * A task gone from the metadata endpoint (`release`): its role credentials leave the agent's
 * memory then, not at the agent's exit.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { silentLogger } from "../../../../src/core/index.js";
import {
  TaskMetadataServer,
  TaskRoleCredentialCache,
} from "../../../../src/agent/metadata/index.js";
import type { TaskRecord } from "../../../../src/agent/tasks/task-run.js";
import type { AgentMessage } from "../../../../src/protocol/index.js";
import { containerAssignment, taskAssignment } from "../../protocol/assignments.js";
import { FakeContainerRuntime } from "../runtime/fake-runtime.js";

const dataDir = mkdtempSync(join(tmpdir(), "berth-metadata-release-"));
after(() => rmSync(dataDir, { recursive: true, force: true }));

describe("task metadata endpoint: a task released", () => {
  it("forgets the task's role credentials", async () => {
    const taskArn = "arn:aws:ecs:us-east-1:000000000000:task/default/gone";
    const record: TaskRecord = {
      assignment: taskAssignment({
        taskId: "gone",
        taskArn,
        containers: [containerAssignment({ command: ["true"] })],
      }),
      state: {
        taskArn,
        lastStatus: "STOPPED",
        containers: [{ name: "app", lastStatus: "STOPPED" }],
      },
    };
    const sent: Array<Extract<AgentMessage, { type: "credentialsRequest" }>> = [];
    const credentials = new TaskRoleCredentialCache((message) => {
      sent.push(message);
      return true;
    });
    const answer = (index: number): void =>
      credentials.answered({
        type: "credentials",
        requestId: sent[index]?.requestId ?? "",
        credentials: {
          accessKeyId: `ASIA${index}`,
          secretAccessKey: "s",
          sessionToken: "t",
          expiration: Date.now() + 3_600_000,
          roleArn: "arn:aws:iam::000000000000:role/r",
        },
      });
    const server = new TaskMetadataServer({
      dataDir,
      availabilityZone: "us-east-1a",
      runtime: new FakeContainerRuntime({ dataDir }),
      tasks: { records: () => [record] },
      log: silentLogger,
      credentials,
    });
    try {
      const first = credentials.get(taskArn);
      answer(0);
      assert.equal((await first).accessKeyId, "ASIA0");
      // Held for an hour: asked again only once forgotten.
      assert.equal((await credentials.get(taskArn)).accessKeyId, "ASIA0");
      assert.equal(sent.length, 1);

      await server.release("127.0.0.1", "gone");
      const again = credentials.get(taskArn);
      assert.equal(sent.length, 2, "the released task's credentials were forgotten");
      answer(1);
      assert.equal((await again).accessKeyId, "ASIA1");
    } finally {
      credentials.close();
      await server.close();
    }
  });
});
