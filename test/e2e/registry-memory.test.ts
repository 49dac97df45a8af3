// A 1 GiB layer pushed to a real `berth up` in bounded memory: blobs stream, never buffer.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { statSync } from "node:fs";
import { request } from "node:http";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { after, before, describe, it } from "node:test";
import { ECRClient, GetAuthorizationTokenCommand } from "@aws-sdk/client-ecr";
import { startBerthProcess, type BerthProcess } from "../../src/testing/index.js";

const MiB = 1024 * 1024;
const SIZE = 1024 * MiB;

/** 1 GiB of deterministic, non-repeating-per-MiB bytes, produced on the fly. */
function* chunks(): Generator<Buffer> {
  const chunk = Buffer.alloc(MiB, 0x5a);
  for (let i = 0; i < SIZE / MiB; i++) {
    chunk.writeUInt32BE(i, 0);
    yield Buffer.from(chunk);
  }
}

function peakRssKiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? NaN);
}

describe("a 1 GiB layer", () => {
  let berth: BerthProcess;
  let authorization: string;

  before(async () => {
    berth = await startBerthProcess({ args: ["--registry-auto-create"] });
    const ecr = new ECRClient(berth.clientConfig);
    const answer = await ecr.send(new GetAuthorizationTokenCommand({}));
    ecr.destroy();
    authorization = `Basic ${answer.authorizationData?.[0]?.authorizationToken ?? ""}`;
  });
  after(async () => berth.stop());

  it("pushes in bounded memory and is stored whole", async (t) => {
    const hash = createHash("sha256");
    for (const chunk of chunks()) hash.update(chunk);
    const digest = `sha256:${hash.digest("hex")}`;
    const pid = berth.process.pid ?? 0;
    const before = peakRssKiB(pid);

    const url = new URL(`${berth.endpoint}/v2/big/layer/blobs/uploads/?digest=${digest}`);
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname + url.search,
          method: "POST",
          headers: {
            authorization,
            "content-length": SIZE,
            "content-type": "application/octet-stream",
          },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on("error", reject);
      pipeline(Readable.from(chunks()), req).catch(reject);
    });
    assert.equal(status, 201);

    const grownMiB = (peakRssKiB(pid) - before) / 1024;
    t.diagnostic(`peak RSS grew by ${grownMiB.toFixed(1)} MiB while receiving 1024 MiB`);
    // Buffering the blob would add 1024 MiB; streaming adds the sink's few MiB of slack.
    assert.ok(grownMiB < 128, `peak RSS grew by ${grownMiB.toFixed(0)} MiB`);
    const hex = digest.slice("sha256:".length);
    const path = join(berth.dataDir, "registry", "blobs", "sha256", hex.slice(0, 2), hex);
    assert.equal(statSync(path).size, SIZE);
    const head = await fetch(`${berth.endpoint}/v2/big/layer/blobs/${digest}`, {
      method: "HEAD",
      headers: { authorization },
    });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get("content-length"), String(SIZE));
  });
});
