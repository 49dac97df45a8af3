// Who may speak for a host: real `berth up` and `berth agent` processes. Join tokens expire,
// can be revoked and used up, and each refusal is one line on the agent and a log line on the
// server; a join token taken from someone cannot say hello as a host that has joined.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { createServer as createTlsServer } from "node:tls";
import { after, before, describe, it } from "node:test";
import {
  DescribeTasksCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  StopTaskCommand,
} from "@aws-sdk/client-ecs";
import WebSocket from "ws";
import { purgeHost } from "../../src/agent/index.js";
import {
  caCertHash as hashOf,
  ensureCertificateAuthority,
  issueServingCertificate,
} from "../../src/core/index.js";
import { HOST_ID_HEADER, HOST_SECRET_HEADER } from "../../src/protocol/index.js";
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
  it("joins only over TLS to the server whose CA the join line pins", async () => {
    const { server, caCertHash } = berth.join;
    assert.match(server, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.match(caCertHash, /^sha256:[0-9a-f]{64}$/);
    // The pin is the SHA-256 of the CA's SubjectPublicKeyInfo, as kubeadm computes it.
    const spki = execFileSync("sh", [
      "-c",
      `openssl x509 -in ${join(berth.dataDir, "pki", "ca.crt")} -pubkey -noout | openssl pkey -pubin -outform der | sha256sum`,
    ]);
    assert.equal(caCertHash, `sha256:${spki.toString().split(" ")[0] ?? ""}`);
    const probe = createToken("--description", "probe");

    // A plain URL is refused by the agent before it sends anything.
    for (const plain of [berth.endpoint, berth.endpoint.replace(/^http/, "ws")])
      assert.match(
        await agentRefusal({ server: plain, token: probe.token, caCertHash }),
        new RegExp(
          `^berth agent: --server ${plain} is not encrypted: the agent channel runs over TLS only`,
        ),
      );
    // A wrong pin: the agent does not trust this server, and says which CA it found.
    const wrong = `sha256:${"0".repeat(64)}`;
    assert.equal(
      await agentRefusal({ server, token: probe.token, caCertHash: wrong }),
      `berth agent: the server at ${new URL(server).host} is not the one the join line names: its CA is ${caCertHash}, not ${wrong}`,
    );
    assert.match(
      await agentRefusal({ server, token: probe.token }),
      /--ca-cert-hash is required to join/,
    );

    // An impostor with a certificate from another CA, given the real pin: refused, and it
    // never sees the join token.
    const impostorDir = tempDataDir("berth-impostor-");
    const impostorCa = await ensureCertificateAuthority(impostorDir);
    const serving = await issueServingCertificate(impostorCa, impostorDir, "impostor", [
      "127.0.0.1",
    ]);
    let received = "";
    const impostor = createTlsServer(
      { cert: serving.certificatePem + impostorCa.certificatePem, key: serving.keyPem },
      (socket) => socket.on("data", (chunk: Buffer) => (received += chunk.toString())),
    );
    await new Promise<void>((resolve) => impostor.listen(0, "127.0.0.1", resolve));
    try {
      const port = (impostor.address() as AddressInfo).port;
      assert.match(
        await agentRefusal({ server: `https://127.0.0.1:${port}`, token: probe.token, caCertHash }),
        new RegExp(`its CA is ${hashOf(impostorCa.certificatePem)}, not ${caCertHash}$`),
      );
      assert.equal(received, "");
    } finally {
      impostor.close();
      rmSync(impostorDir, { recursive: true, force: true });
    }

    // A client that skips the agent's check and speaks the channel in the clear from another
    // address: the server refuses before reading the token, and logs it.
    const clear = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const ws = new WebSocket(`${berth.endpoint.replace(/^http/, "ws")}/_berth/agent`, {
        localAddress: "127.0.0.2",
        headers: {
          [HOST_ID_HEADER]: "host-0123456789abcdef",
          [HOST_SECRET_HEADER]: "s".repeat(43),
          authorization: `Bearer ${probe.token}`,
        },
      });
      ws.on("unexpected-response", (_req, res) => {
        let body = "";
        res.on("data", (chunk: Buffer) => (body += chunk.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      });
      ws.on("open", () => reject(new Error("the server opened a channel in the clear")));
      ws.on("error", () => undefined);
    });
    assert.equal(clear.status, 403);
    assert.match(clear.body, /^the agent channel is served over TLS only/);
    // The log line comes through the server's stdout pipe, maybe after the answer.
    await until(
      "the server's log of the refusal",
      async () => berth.output(),
      (output) => /agent refused .*code=ChannelNotEncrypted/.test(output),
      { timeoutMs: 10_000 },
    );
    // None of these used the token.
    assert.match(listed(probe.id), /^\S+\s+valid\s+\S+\s+0\/-\s+probe$/);
  });

  it("refuses an expired, a revoked, a used-up and an unknown token, saying why", async () => {
    const once = createToken("--uses", "1", "--description", "one host");
    const first = await startAgentProcess({ ...berth.join, token: once.token });
    try {
      assert.match(listed(once.id), /exhausted\s.*\s1\/1\s+one host$/);
      const usedUp = await agentRefusal({ ...berth.join, token: once.token });
      assert.match(usedUp, new RegExp(`join token ${once.id} has been used its limit of 1`));
    } finally {
      await first.stop();
    }

    const short = createToken("--ttl", "1s");
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.match(listed(short.id), /expired/);
    assert.match(
      await agentRefusal({ ...berth.join, token: short.token }),
      new RegExp(
        `^berth agent: the server refused host host-[0-9a-f]+: join token ${short.id} expired at `,
      ),
    );

    const revoked = createToken();
    assert.match(tokens("revoke", revoked.id), new RegExp(`join token ${revoked.id} revoked`));
    assert.match(listed(revoked.id), /revoked/);
    assert.match(
      await agentRefusal({ ...berth.join, token: revoked.token }),
      new RegExp(`join token ${revoked.id} was revoked$`),
    );

    assert.match(
      await agentRefusal({ ...berth.join, token: `${revoked.id}.aaaaaaaaaaaaaaaa` }),
      /the join token is not known to this server$/,
    );
    assert.match(
      await agentRefusal({ ...berth.join }),
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
      ...berth.join,
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
        ...berth.join,
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
      // ...and the CA it pinned at its join: no --ca-cert-hash needed any more.
      legit = await startAgentProcess({ server: berth.join.server, dataDir, keepDataDir: true });
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
