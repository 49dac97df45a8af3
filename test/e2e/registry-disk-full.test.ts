// The registry on a full disk (issue 12, item 15): a push that does not fit gets an error
// answer (not a connection reset), Berth logs it, nothing half-written stays behind, and once
// space is back the same push succeeds. The data dir is a small tmpfs of this test's own.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { ECRClient, GetAuthorizationTokenCommand } from "@aws-sdk/client-ecr";
import { startBerthProcess, type BerthProcess } from "../../src/testing/index.js";

const run = promisify(execFile);
const MiB = 1024 * 1024;

let dir: string;
let berth: BerthProcess;
let authorization: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "berth-diskfull-"));
  await run("mount", ["-t", "tmpfs", "-o", "size=48m,mode=0700", "berth-diskfull", dir]);
  berth = await startBerthProcess({
    dataDir: join(dir, "data"),
    args: ["--registry-auto-create", "--no-local-agent"],
  });
  const ecr = new ECRClient(berth.clientConfig);
  const answer = await ecr.send(new GetAuthorizationTokenCommand({}));
  ecr.destroy();
  authorization = `Basic ${answer.authorizationData?.[0]?.authorizationToken ?? ""}`;
});
after(async () => {
  await berth?.stop();
  await run("umount", ["-R", dir]).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

interface Answer {
  status: number;
  body: string;
  location?: string;
}

/** One registry request with `body` streamed in 1 MiB pieces; a reset rejects. */
function send(method: string, path: string, body: Buffer): Promise<Answer> {
  const url = new URL(path, berth.endpoint);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname + url.search,
        method,
        headers: {
          authorization,
          "content-length": body.length,
          "content-type": "application/octet-stream",
        },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8").on("data", (chunk: string) => (text += chunk));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            body: text,
            ...(res.headers.location === undefined ? {} : { location: res.headers.location }),
          }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    let offset = 0;
    const write = (): void => {
      while (offset < body.length) {
        const piece = body.subarray(offset, offset + MiB);
        offset += piece.length;
        if (!req.write(piece)) {
          req.once("drain", write);
          return;
        }
      }
      req.end();
    };
    write();
  });
}

/** Every regular file under the registry's blobs and uploads, with its size. */
function registryFiles(): string[] {
  const root = join(berth.dataDir, "registry");
  const files: string[] = [];
  const walk = (path: string): void => {
    if (!existsSync(path)) return;
    for (const name of readdirSync(path)) {
      const child = join(path, name);
      if (statSync(child).isDirectory()) walk(child);
      else files.push(`${child.slice(root.length)} ${statSync(child).size}`);
    }
  };
  walk(root);
  return files;
}

describe("a registry push onto a full disk (issue 12, item 15)", () => {
  it("answers with an error and a log line, and keeps nothing half-written", async () => {
    const blob = randomBytes(64 * MiB);
    const digest = `sha256:${createHash("sha256").update(blob).digest("hex")}`;
    const beforeFiles = registryFiles();

    // A monolithic upload (POST with the digest) larger than the disk.
    const monolithic = await send("POST", `/v2/full/layer/blobs/uploads/?digest=${digest}`, blob);
    assert.equal(monolithic.status, 507, monolithic.body);
    assert.match(monolithic.body, /"code":"[A-Z_]+".*no space left/i);

    // A chunked upload: the session opens, the chunk does not fit.
    const opened = await send("POST", "/v2/full/layer/blobs/uploads/", Buffer.alloc(0));
    assert.equal(opened.status, 202);
    const chunk = await send("PATCH", opened.location ?? "", blob);
    assert.equal(chunk.status, 507, chunk.body);

    assert.match(berth.output(), /no space left/i, "Berth logs the full disk");
    // Nothing of the refused blob stays: no blob file, and the session's data is emptied.
    const hex = digest.slice("sha256:".length);
    assert.ok(!registryFiles().some((f) => f.includes(hex)), registryFiles().join("\n"));
    // (The chunked session stays open, as after any failed chunk: its record, and its data
    // as it was before the chunk, empty.)
    const leftover = registryFiles().filter(
      (f) => !beforeFiles.includes(f) && !/\/info\.json \d+$/.test(f) && !/ 0$/.test(f),
    );
    assert.deepEqual(leftover, [], "half-written data stayed on the disk");
    assert.ok(
      registryFiles().some((f) => /^\/uploads\/[^/]+\/data 0$/.test(f)),
      registryFiles().join("\n"),
    );

    // With a blob that fits, the registry works again.
    const small = randomBytes(MiB);
    const smallDigest = `sha256:${createHash("sha256").update(small).digest("hex")}`;
    const fits = await send("POST", `/v2/full/layer/blobs/uploads/?digest=${smallDigest}`, small);
    assert.equal(fits.status, 201, fits.body);
  });
});
