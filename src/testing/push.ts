/**
 * Puts a test image into a running Berth's registry the way a user would: ECR
 * CreateRepository, GetAuthorizationToken, then `skopeo copy` of an OCI layout.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import {
  CreateRepositoryCommand,
  ECRClient,
  GetAuthorizationTokenCommand,
  RepositoryAlreadyExistsException,
} from "@aws-sdk/client-ecr";
import type { TestBerth } from "./harness.js";
import { buildBusyboxImage, type OciImageOptions } from "../agent/index.js";

const run = promisify(execFile);

export interface PushedImage {
  /** What a task definition names: `127.0.0.1:PORT/REPO:TAG`. */
  uri: string;
  manifestDigest: string;
}

/** Builds the busybox test image and pushes it as `repository:tag`. */
export async function pushBusyboxImage(
  berth: TestBerth,
  repository: string,
  options: OciImageOptions & { tag?: string } = {},
): Promise<PushedImage> {
  const tag = options.tag ?? "latest";
  const image = await buildBusyboxImage({ ...options, tag });
  const ecr = new ECRClient(berth.clientConfig);
  try {
    try {
      await ecr.send(new CreateRepositoryCommand({ repositoryName: repository }));
    } catch (error) {
      if (!(error instanceof RepositoryAlreadyExistsException)) throw error;
    }
    const { authorizationData = [] } = await ecr.send(new GetAuthorizationTokenCommand({}));
    const token = Buffer.from(authorizationData[0]?.authorizationToken ?? "", "base64").toString(
      "utf8",
    );
    const host = new URL(berth.endpoint).host;
    const uri = `${host}/${repository}:${tag}`;
    await run("skopeo", [
      "copy",
      "--quiet",
      "--dest-tls-verify=false",
      "--dest-creds",
      token,
      image.reference,
      `docker://${uri}`,
    ]);
    return { uri, manifestDigest: image.manifestDigest };
  } finally {
    ecr.destroy();
    image.remove();
  }
}
