// The server's end of task role credentials against a real SQLite store: only a live task
// placed on the asking host, with a role recorded at RunTask, gets credentials minted, for that
// role and with the task id as the session name; another host, a stopped task or a task
// without a role is refused (the agent answers its task with a 4xx).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { taskRoleCredentials, TASK_CREDENTIALS_REFUSED } from "../../../src/control/index.js";
import { openSqliteStore, type Store } from "../../../src/store/index.js";

const ROLE = "arn:aws:iam::000000000000:role/app";
const arnOf = (id: string): string => `arn:aws:ecs:us-east-1:000000000000:task/default/${id}`;

let dir: string;
let store: Store;
const minted: Array<[string, string]> = [];
const mint = (roleArn: string, sessionName: string) => {
  minted.push([roleArn, sessionName]);
  return Promise.resolve({
    accessKeyId: "ASIAEXAMPLE",
    secretAccessKey: "secret",
    sessionToken: "token",
    expiration: 2_000_000,
  });
};

async function addTask(id: string, hostId: string, status: string, role?: string): Promise<void> {
  await store
    .insertInto("tasks")
    .values({
      arn: arnOf(id),
      id,
      cluster_name: "default",
      family: "web",
      task_definition_arn: "arn:aws:ecs:us-east-1:000000000000:task-definition/web:1",
      last_status: status,
      desired_status: "RUNNING",
      host_id: hostId,
      cpu: 256,
      memory: 512,
      started_by: null,
      group_name: "family:web",
      created_at: 1_000,
      stopped_at: null,
      version: 1,
      document: "{}",
      assignment: JSON.stringify(
        role === undefined
          ? {}
          : { taskRole: { roleArn: role, credentialsId: "0f1e2d3c-0000-4000-8000-000000000000" } },
      ),
    })
    .execute();
}

const refused = (error: unknown): boolean =>
  (error as { code?: string }).code === TASK_CREDENTIALS_REFUSED;

describe("task role credentials (server end)", () => {
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "berth-task-credentials-"));
    store = await openSqliteStore(join(dir, "berth.db"));
    await addTask("a1", "host-1", "RUNNING", ROLE);
    await addTask("b1", "host-2", "RUNNING", ROLE);
    await addTask("a2", "host-1", "STOPPED", ROLE);
    await addTask("a3", "host-1", "RUNNING");
  });
  after(async () => {
    await store.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it("mints for a live task of the asking host, as its role, named after the task", async () => {
    const credentials = await taskRoleCredentials(store, mint, "host-1", arnOf("a1"));
    assert.equal(credentials.roleArn, ROLE);
    assert.equal(credentials.accessKeyId, "ASIAEXAMPLE");
    assert.deepEqual(minted, [[ROLE, "a1"]]);
  });

  it("refuses another host's task, a stopped task and a task without a role", async () => {
    minted.length = 0;
    await assert.rejects(taskRoleCredentials(store, mint, "host-1", arnOf("b1")), refused);
    await assert.rejects(taskRoleCredentials(store, mint, "host-1", arnOf("a2")), refused);
    await assert.rejects(taskRoleCredentials(store, mint, "host-1", arnOf("a3")), refused);
    await assert.rejects(taskRoleCredentials(store, mint, "host-1", arnOf("nope")), refused);
    assert.deepEqual(minted, []);
  });
});
