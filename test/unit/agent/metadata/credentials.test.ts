/** The agent's task role credential cache: one request at a time, renewal at half-life, refusals. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  CredentialsRefused,
  TaskRoleCredentialCache,
} from "../../../../src/agent/metadata/index.js";
import type { AgentMessage } from "../../../../src/protocol/index.js";

type Request = Extract<AgentMessage, { type: "credentialsRequest" }>;

function setup() {
  let now = 1_000_000;
  const sent: Request[] = [];
  const cache = new TaskRoleCredentialCache(
    (message) => {
      sent.push(message);
      return true;
    },
    () => now,
  );
  const answer = (index: number, key: string, lifetimeMs: number): void =>
    cache.answered({
      type: "credentials",
      requestId: sent[index]?.requestId ?? "",
      credentials: {
        accessKeyId: key,
        secretAccessKey: "s",
        sessionToken: "t",
        expiration: now + lifetimeMs,
        roleArn: "arn:aws:iam::000000000000:role/r",
      },
    });
  return { cache, sent, answer, advance: (ms: number) => (now += ms) };
}

describe("task role credential cache", () => {
  it("asks once for concurrent requests and keeps the answer until half its life is gone", async () => {
    const { cache, sent, answer, advance } = setup();
    const a = cache.get("task-1");
    const b = cache.get("task-1");
    assert.equal(sent.length, 1);
    assert.equal(sent[0]?.taskArn, "task-1");
    answer(0, "ASIA1", 60_000);
    assert.equal((await a).accessKeyId, "ASIA1");
    assert.equal((await b).accessKeyId, "ASIA1");
    advance(29_000);
    assert.equal((await cache.get("task-1")).accessKeyId, "ASIA1");
    assert.equal(sent.length, 1);
    advance(2_000);
    const renewed = cache.get("task-1");
    assert.equal(sent.length, 2);
    answer(1, "ASIA2", 60_000);
    assert.equal((await renewed).accessKeyId, "ASIA2");
  });

  it("turns a server refusal into CredentialsRefused and an offline channel into a plain error", async () => {
    const { cache, sent } = setup();
    const refused = cache.get("task-2");
    cache.answered({ type: "credentials", requestId: sent[0]?.requestId ?? "", error: "no role" });
    await assert.rejects(refused, (error: unknown) => error instanceof CredentialsRefused);
    const offline = new TaskRoleCredentialCache(() => false);
    await assert.rejects(
      offline.get("task-3"),
      (error: unknown) => error instanceof Error && !(error instanceof CredentialsRefused),
    );
  });
});
