// Unauthenticated exhaustion by bodies (issue 12, item 5): the server checks SigV4 on the
// headers before it reads a body, so an unsigned or wrongly-signed request is answered while
// its body is still unsent, and a flood of oversized requests (unsigned, or from a known access
// key id with a bad signature the server can only find with the body) leaves the server's RSS
// within a bound. What is asserted is bytes, never time.
import assert from "node:assert/strict";
import { request, type IncomingMessage } from "node:http";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { DescribeClustersCommand, ECSClient } from "@aws-sdk/client-ecs";
import { startBerthProcess, until, type BerthProcess } from "../../src/testing/index.js";

const MiB = 1024 * 1024;
const BODY = Buffer.alloc(2 * MiB, 0x7b);
/** Growth of the server's RSS that the flood may cause: without the check it buffered 2 MiB a request. */
const RSS_BOUND = 160 * MiB;

let berth: BerthProcess;
let port: number;

before(async () => {
  berth = await startBerthProcess();
  port = Number(new URL(berth.endpoint).port);
});
after(async () => {
  await berth.stop();
});

function serverRss(): number {
  const status = readFileSync(`/proc/${String(berth.process.pid)}/status`, "utf8");
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? "0") * 1024;
}

function amzDate(): string {
  return new Date()
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}/, "");
}

/** A DescribeClusters whose Authorization header is well formed but whose signature is bogus. */
function forgedHeaders(signedHash: boolean): Record<string, string> {
  const date = amzDate();
  const hash = "e".repeat(64);
  const signed = signedHash
    ? "host;x-amz-content-sha256;x-amz-date;x-amz-target"
    : "host;x-amz-date;x-amz-target";
  return {
    "x-amz-date": date,
    ...(signedHash ? { "x-amz-content-sha256": hash } : {}),
    authorization:
      `AWS4-HMAC-SHA256 Credential=${berth.credentials.accessKeyId}/${date.slice(0, 8)}/${berth.region}/ecs/aws4_request, ` +
      `SignedHeaders=${signed}, Signature=${"0".repeat(64)}`,
  };
}

interface Answer {
  status: number;
  body: string;
}

/**
 * POSTs to the AWS front door declaring a 2 MiB body; sends it only when `send` is true. The
 * answer, or undefined when the connection was cut first (or, with the body withheld, when
 * no answer came in 20 s).
 */
function post(
  headers: Record<string, string>,
  send: boolean,
  localAddress: string,
): Promise<Answer | undefined> {
  return new Promise((resolve) => {
    const req = request({
      host: "127.0.0.1",
      port,
      localAddress,
      method: "POST",
      path: "/",
      agent: false,
      headers: {
        "content-type": "application/x-amz-json-1.1",
        "x-amz-target": "AmazonEC2ContainerServiceV20141113.DescribeClusters",
        "content-length": String(BODY.length),
        ...headers,
      },
    });
    req.on("error", () => resolve(undefined));
    req.on("response", (res: IncomingMessage) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => {
        resolve({ status: res.statusCode ?? 0, body });
        req.destroy();
      });
      res.on("error", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    if (send) req.end(BODY);
    else {
      req.flushHeaders();
      // Unanswered while the body is withheld: the server is waiting for it (the failure).
      const timer = setTimeout(() => {
        req.destroy();
        resolve(undefined);
      }, 20_000);
      req.once("close", () => clearTimeout(timer));
    }
  });
}

describe("SigV4 before the body", () => {
  it("answers an unsigned request and a wrongly-signed one while their bodies are unsent", async () => {
    const unsigned = await post({}, false, "127.0.0.1");
    assert.equal(unsigned?.status, 400);
    assert.equal(
      (JSON.parse(unsigned.body) as { __type: string }).__type,
      "MissingAuthenticationTokenException",
    );
    // A signature over a declared hash is checked before the body: this one is wrong.
    const wrong = await post(forgedHeaders(true), false, "127.0.0.1");
    assert.equal(wrong?.status, 400);
    assert.equal(
      (JSON.parse(wrong.body) as { __type: string }).__type,
      "InvalidSignatureException",
    );
  });

  it("keeps its RSS bounded under a flood of oversized unsigned and badly signed requests", async () => {
    const ecs = new ECSClient(berth.clientConfig);
    try {
      await ecs.send(new DescribeClustersCommand({}));
      const baseline = serverRss();
      let peak = baseline;
      const sampler = setInterval(() => (peak = Math.max(peak, serverRss())), 50);
      const answers = await Promise.all(
        Array.from({ length: 400 }, (_, i) =>
          post(
            i % 2 === 0 ? {} : forgedHeaders(false),
            true,
            i % 4 < 2 ? "127.0.0.2" : "127.0.0.3",
          ),
        ),
      );
      clearInterval(sampler);
      peak = Math.max(peak, serverRss());
      const refused = answers.filter((a) => a !== undefined && a.status >= 400).length;
      const accepted = answers.filter((a) => a !== undefined && a.status < 400).length;
      assert.equal(accepted, 0, "no forged request may be served");
      assert.ok(refused > 0, "the flood's requests were answered with errors");
      assert.ok(
        peak - baseline < RSS_BOUND,
        `server RSS grew by ${Math.round((peak - baseline) / MiB)} MiB (bound ${RSS_BOUND / MiB} MiB)`,
      );
      await until(
        "health answers after the flood",
        async () => (await fetch(`${berth.endpoint}/_berth/health`)).status,
        (status) => status === 200,
        { timeoutMs: 30_000 },
      );
      const { clusters = [] } = await ecs.send(new DescribeClustersCommand({}));
      assert.equal(clusters[0]?.clusterName, "default");
    } finally {
      ecs.destroy();
    }
  });
});
