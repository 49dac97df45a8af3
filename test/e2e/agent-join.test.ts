// Who may speak for a host: real `berth up` and `berth agent` processes. Join tokens expire,
// can be revoked and used up, and each refusal is one line on the agent and a log line on the
// server; a join token taken from someone cannot say hello as a host that has joined.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  DescribeTasksCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  StopTaskCommand,
} from "@aws-sdk/client-ecs";
import { purgeHost } from "../../src/agent/index.js";
import {
  agentRefusal,
  BERTH_BIN,
  pushBusyboxImage,
  startAgentProcess,
  startBerthProcess,
  tempDataDir,
  until,
  type AgentProcess,
  type BerthProcess,
} from "../../src/testing/index.js";

let berth: BerthProcess;

/** `berth tokens ...` against the test's Berth, as an operator runs it. */
function tokens(...args: string[]): string {
  return execFileSync(process.execPath, [BERTH_BIN, "tokens", ...args], {
    encoding: "utf8",
    env: { ...berth.awsEnv, BERTH_ENDPOINT: berth.endpoint },
  });
}

function createToken(...args: string[]): { token: string; id: string } {
  const token = tokens("create", ...args).split("\n")[0] ?? "";
  assert.match(token, /^[a-z0-9]{6}\.[a-z0-9]{16}$/);
  return { token, id: token.slice(0, 6) };
}

function listed(id: string): string {
  return (
    tokens("list")
      .split("\n")
      .find((line) => line.startsWith(id)) ?? ""
  );
}

before(async () => {
  // A joined host whose agent stopped is LOST after 3 s, so a later test's task is not given to it.
  berth = await startBerthProcess({ args: ["--no-local-agent", "--host-timeout-seconds", "3"] });
});
after(async () => {
  await berth.stop();
});

describe("joining agents", () => {
  it("refuses an expired, a revoked, a used-up and an unknown token, saying why", async () => {
    const once = createToken("--uses", "1", "--description", "one host");
    const first = await startAgentProcess({ server: berth.endpoint, token: once.token });
    try {
      assert.match(listed(once.id), /exhausted\s.*\s1\/1\s+one host$/);
      const usedUp = await agentRefusal({ server: berth.endpoint, token: once.token });
      assert.match(usedUp, new RegExp(`join token ${once.id} has been used its limit of 1`));
    } finally {
      await first.stop();
    }

    const short = createToken("--ttl", "1s");
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.match(listed(short.id), /expired/);
    assert.match(
      await agentRefusal({ server: berth.endpoint, token: short.token }),
      new RegExp(
        `^berth agent: the server refused host host-[0-9a-f]+: join token ${short.id} expired at `,
      ),
    );

    const revoked = createToken();
    assert.match(tokens("revoke", revoked.id), new RegExp(`join token ${revoked.id} revoked`));
    assert.match(listed(revoked.id), /revoked/);
    assert.match(
      await agentRefusal({ server: berth.endpoint, token: revoked.token }),
      new RegExp(`join token ${revoked.id} was revoked$`),
    );

    assert.match(
      await agentRefusal({ server: berth.endpoint, token: `${revoked.id}.aaaaaaaaaaaaaaaa` }),
      /the join token is not known to this server$/,
    );
    assert.match(
      await agentRefusal({ server: berth.endpoint }),
      /has not joined this server: start the agent with the join line's --token/,
    );
    // The server logs each refusal with its code.
    for (const code of [
      "JoinTokenExhausted",
      "JoinTokenExpired",
      "JoinTokenRevoked",
      "JoinTokenUnknown",
      "HostNotJoined",
    ])
      assert.match(berth.output(), new RegExp(`agent refused .*code=${code}`));
  });

  it("keeps a joined host's identity from anyone holding the join token", async () => {
    // The first test's host (its agent stopped) must be LOST before the task below is placed.
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    const ecs = new ECSClient(berth.clientConfig);
    const dataDir = tempDataDir("berth-agent-");
    let legit: AgentProcess | undefined = await startAgentProcess({
      server: berth.endpoint,
      token: berth.joinToken,
      dataDir,
      keepDataDir: true,
    });
    const thiefDir = tempDataDir("berth-agent-");
    try {
      const image = (await pushBusyboxImage(berth, "busybox")).uri;
      const { taskDefinition } = await ecs.send(
        new RegisterTaskDefinitionCommand({
          family: "secret-holder",
          requiresCompatibilities: ["FARGATE"],
          networkMode: "awsvpc",
          cpu: "256",
          memory: "512",
          containerDefinitions: [
            {
              name: "app",
              image,
              essential: true,
              stopTimeout: 1,
              command: ["sleep", "600"],
              environment: [{ name: "DB_PASSWORD", value: "hunter2" }],
            },
          ],
        }),
      );
      const run = await ecs.send(
        new RunTaskCommand({ taskDefinition: taskDefinition?.taskDefinitionArn ?? "" }),
      );
      const taskArn = run.tasks?.[0]?.taskArn ?? "";
      const status = async (): Promise<string> =>
        (await ecs.send(new DescribeTasksCommand({ tasks: [taskArn] }))).tasks?.[0]?.lastStatus ??
        "";
      await until("the task runs", status, (s) => s === "RUNNING", {
        context: () => legit?.output().slice(-3000) ?? "",
      });
      const hostId = readFileSync(join(dataDir, "host-id"), "utf8").trim();
      const usesBefore = listed(berth.joinToken.slice(0, 6));

      // The thief has the join token and the host's id, not its credential.
      cpSync(join(dataDir, "host-id"), join(thiefDir, "host-id"));
      const refusal = await agentRefusal({
        server: berth.endpoint,
        token: berth.joinToken,
        dataDir: thiefDir,
      });
      assert.match(
        refusal,
        new RegExp(
          `host ${hostId} has joined with another credential; a join token cannot take over`,
        ),
      );
      assert.match(berth.output(), /agent refused .*code=HostCredentialMismatch/);
      // Nothing was assigned to it, and the token was not used again.
      const thiefTasks = join(thiefDir, "tasks");
      assert.deepEqual(existsSync(thiefTasks) ? readdirSync(thiefTasks) : [], []);
      assert.equal(listed(berth.joinToken.slice(0, 6)), usesBefore);

      // The legitimate host still runs its task, and restarts with its own credential alone.
      assert.equal(await status(), "RUNNING");
      await legit.kill();
      legit = await startAgentProcess({ server: berth.endpoint, dataDir, keepDataDir: true });
      await ecs.send(new StopTaskCommand({ task: taskArn }));
      await until("the stop reaches the host", status, (s) => s === "STOPPED");
    } finally {
      ecs.destroy();
      await legit.stop();
      for (const dir of [dataDir, thiefDir]) {
        await purgeHost(dir);
        rmSync(dir, { recursive: true, force: true });
      }
    }
  });
});
