// A real `berth up` as a registry for skopeo and podman, logged in the ECR way.
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import {
  buildBusyboxImage,
  startBerthProcess,
  type BerthProcess,
  type OciImage,
} from "../../src/testing/index.js";

const run = promisify(execFile);
const AWS = "/usr/bin/aws";

describe("the registry with skopeo, podman and the AWS CLI", () => {
  let berth: BerthProcess;
  let image: OciImage;
  let host: string;
  let token: string;
  const scratch = mkdtempSync(join(tmpdir(), "berth-registry-e2e-"));

  async function aws(...args: string[]): Promise<string> {
    const { stdout } = await run(
      AWS,
      ["--endpoint-url", berth.endpoint, "--output", "json", ...args],
      {
        env: berth.awsEnv,
      },
    );
    return stdout;
  }

  /** Podman with its own storage, auth file and no registries.conf surprises. */
  function podmanArgs(name: string, ...args: string[]): string[] {
    const root = join(scratch, `podman-${name}`);
    return [
      "--root",
      join(root, "root"),
      "--runroot",
      join(root, "run"),
      "--storage-driver",
      "vfs",
      ...args,
    ];
  }

  async function podman(name: string, ...args: string[]): Promise<string> {
    const { stdout } = await run("podman", podmanArgs(name, ...args), {
      env: { ...process.env, REGISTRY_AUTH_FILE: join(scratch, `auth-${name}.json`) },
    });
    return stdout;
  }

  async function describeDigest(repository: string, tag: string): Promise<string> {
    const described = JSON.parse(
      await aws(
        "ecr",
        "describe-images",
        "--repository-name",
        repository,
        "--image-ids",
        `imageTag=${tag}`,
      ),
    ) as { imageDetails: Array<{ imageDigest: string }> };
    return described.imageDetails[0]?.imageDigest ?? "";
  }

  before(async () => {
    berth = await startBerthProcess();
    host = new URL(berth.endpoint).host;
    image = await buildBusyboxImage({ dir: join(scratch, "layout"), tag: "v1" });
    const created = JSON.parse(
      await aws("ecr", "create-repository", "--repository-name", "app"),
    ) as {
      repository: { repositoryUri: string };
    };
    assert.equal(created.repository.repositoryUri, `${host}/app`);
    token = (await aws("ecr", "get-login-password")).trim();
  });

  after(async () => {
    await berth.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  it("round-trips an image with skopeo, digests identical byte for byte", async () => {
    await run("skopeo", [
      "copy",
      image.reference,
      `docker://${host}/app:v1`,
      "--dest-creds",
      `AWS:${token}`,
      "--dest-tls-verify=false",
    ]);
    assert.equal(await describeDigest("app", "v1"), image.manifestDigest);

    const back = join(scratch, "back");
    await run("skopeo", [
      "copy",
      `docker://${host}/app:v1`,
      `oci:${back}:v1`,
      "--src-creds",
      `AWS:${token}`,
      "--src-tls-verify=false",
    ]);
    const index = JSON.parse(readFileSync(join(back, "index.json"), "utf8")) as {
      manifests: Array<{ digest: string }>;
    };
    assert.equal(index.manifests[0]?.digest, image.manifestDigest);
    for (const digest of [image.manifestDigest, image.configDigest, image.layerDigest]) {
      const hex = digest.slice("sha256:".length);
      const bytes = readFileSync(join(back, "blobs", "sha256", hex));
      assert.equal(createHash("sha256").update(bytes).digest("hex"), hex);
      assert.deepEqual(bytes, readFileSync(join(image.dir, "blobs", "sha256", hex)));
    }
  });

  it("refuses anonymous and forged credentials with 401", async () => {
    const anonymous = await fetch(`${berth.endpoint}/v2/app/manifests/v1`);
    assert.equal(anonymous.status, 401);
    assert.match(anonymous.headers.get("www-authenticate") ?? "", /^Basic realm=/);
    const forged = `${token.split(".")[0] ?? ""}.${"A".repeat(43)}`;
    await assert.rejects(
      run("skopeo", [
        "inspect",
        "--creds",
        `AWS:${forged}`,
        "--tls-verify=false",
        `docker://${host}/app:v1`,
      ]),
      /unauthorized|authentication required|401/i,
    );
    await assert.rejects(
      run("skopeo", ["inspect", "--tls-verify=false", "--no-creds", `docker://${host}/app:v1`]),
      /unauthorized|authentication required|401/i,
    );
  });

  it("logs podman in with get-login-password, then pushes and pulls with identical digests", async () => {
    const login = spawn(
      "podman",
      podmanArgs("a", "login", "--username", "AWS", "--password-stdin", "--tls-verify=false", host),
      { env: { ...process.env, REGISTRY_AUTH_FILE: join(scratch, "auth-a.json") } },
    );
    let output = "";
    login.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    login.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    login.stdin.end(token);
    const code = await new Promise<number | null>((resolve) => login.on("exit", resolve));
    assert.equal(code, 0, output);
    assert.match(output, /Login Succeeded/);

    await podman("a", "pull", "--tls-verify=false", `${host}/app:v1`);
    await podman("a", "tag", `${host}/app:v1`, `${host}/app:podman`);
    const digestFile = join(scratch, "pushed-digest");
    await podman(
      "a",
      "push",
      "--tls-verify=false",
      "--digestfile",
      digestFile,
      `${host}/app:podman`,
    );
    const pushed = readFileSync(digestFile, "utf8").trim();
    assert.equal(await describeDigest("app", "podman"), pushed);

    // A second podman with empty storage pulls it back by digest.
    writeFileSync(join(scratch, "auth-b.json"), readFileSync(join(scratch, "auth-a.json")));
    await podman("b", "pull", "--tls-verify=false", `${host}/app@${pushed}`);
    const inspected = JSON.parse(
      await podman("b", "image", "inspect", `${host}/app@${pushed}`),
    ) as Array<{
      Digest: string;
    }>;
    assert.equal(inspected[0]?.Digest, pushed);
  });

  it("leaves no blob behind when the client is killed mid-upload", async () => {
    const big = join(scratch, "big.bin");
    const bytes = Buffer.alloc(16 * 1024 * 1024, 7);
    writeFileSync(big, bytes);
    const digest = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
    const tmp = join(berth.dataDir, "registry", "tmp");
    const curl = spawn("curl", [
      "-s",
      "--limit-rate",
      "2M",
      "-u",
      `AWS:${token}`,
      "-X",
      "POST",
      "-H",
      "Content-Type: application/octet-stream",
      "--data-binary",
      `@${big}`,
      `${berth.endpoint}/v2/app/blobs/uploads/?digest=${digest}`,
    ]);
    const exited = new Promise((resolve) => curl.on("exit", resolve));
    // Kill it once the server is writing the body.
    for (let i = 0; i < 1000 && readdirSync(tmp).length === 0; i++)
      await new Promise((resolve) => setTimeout(resolve, 10));
    assert.ok(readdirSync(tmp).length > 0, "the upload never started");
    curl.kill("SIGKILL");
    await exited;
    for (let i = 0; i < 1000 && readdirSync(tmp).length > 0; i++)
      await new Promise((resolve) => setTimeout(resolve, 10));
    assert.deepEqual(readdirSync(tmp), []);
    const hex = digest.slice("sha256:".length);
    assert.equal(
      existsSync(join(berth.dataDir, "registry", "blobs", "sha256", hex.slice(0, 2), hex)),
      false,
    );
    const head = await fetch(`${berth.endpoint}/v2/app/blobs/${digest}`, {
      method: "HEAD",
      headers: { authorization: `Basic ${Buffer.from(`AWS:${token}`).toString("base64")}` },
    });
    assert.equal(head.status, 404);
  });

  it("answers NAME_UNKNOWN when pushing to a repository never created", async () => {
    await assert.rejects(
      run("skopeo", [
        "copy",
        image.reference,
        `docker://${host}/never-created:v1`,
        "--dest-creds",
        `AWS:${token}`,
        "--dest-tls-verify=false",
      ]),
      /does not exist|NAME_UNKNOWN|name unknown/i,
    );
  });
});
