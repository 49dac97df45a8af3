/**
 * The two registries the benchmark compares, each its own process on loopback: Berth (`berth up`
 * from dist/, with `--registry-auto-create`) and Debian's `docker-registry` (the Go reference
 * implementation, distribution 2.8) with filesystem storage in a temp directory.
 */
import {
  startBerthProcess,
  startGoRegistry as startGoRegistryProcess,
} from "../../src/testing/index.js";

export interface Peer {
  name: string;
  /** `127.0.0.1:PORT` */
  host: string;
  /** skopeo's credential flag value, or undefined when the registry is open. */
  creds?: string;
  /** The Authorization header for raw HTTP requests, if any. */
  authorization?: string;
  pid: number;
  dataDir: string;
  stop(): Promise<void>;
}

export async function startGoRegistry(): Promise<Peer> {
  return { name: "Go registry", ...(await startGoRegistryProcess()) };
}

export async function startBerth(): Promise<Peer> {
  const berth = await startBerthProcess({
    args: ["--registry-auto-create", "--log-level", "warn"],
  });
  const host = new URL(berth.endpoint).host;
  const { ECRClient, GetAuthorizationTokenCommand } = await import("@aws-sdk/client-ecr");
  const ecr = new ECRClient(berth.clientConfig);
  const answer = await ecr.send(new GetAuthorizationTokenCommand({}));
  ecr.destroy();
  const token = answer.authorizationData?.[0]?.authorizationToken ?? "";
  const creds = Buffer.from(token, "base64").toString();
  return {
    name: "Berth",
    host,
    creds,
    authorization: `Basic ${token}`,
    pid: berth.process.pid ?? 0,
    dataDir: berth.dataDir,
    stop: () => berth.stop(),
  };
}
