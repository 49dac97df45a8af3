/**
 * An EKS cluster on a test Berth with the real clients: `aws eks create-cluster`,
 * `create-fargate-profile` (namespace default), `update-kubeconfig` into the data dir; then
 * kubectl against it.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { awsCli } from "./ecs.js";
import { startBerthProcess, type BerthProcess, type TestBerth } from "./harness.js";
import { pushBusyboxImage } from "./push.js";

const run = promisify(execFile);
const AWS = "/usr/bin/aws";
/** The machine's kubectl dispatcher (it picks v1.32 by the server's version). */
export const KUBECTL = "/usr/bin/kubectl";

export interface EksTestCluster {
  kubeconfig: string;
  aws(args: string[]): Promise<Record<string, unknown>>;
  kubectl(args: string[]): Promise<string>;
  /** kubectl's failure: exit code and stderr (throws when the command succeeds). */
  kubectlFailure(args: string[]): Promise<{ code: number; stderr: string }>;
  /** A long-running kubectl (`logs -f`, `get -w`); the caller kills it. */
  spawnKubectl(args: string[]): ChildProcess;
  /** Writes an object as a JSON manifest in the data dir; its path. */
  manifest(name: string, body: Record<string, unknown>): string;
}

export async function startEksCluster(berth: TestBerth, name = "demo"): Promise<EksTestCluster> {
  const kubeconfig = join(berth.dataDir, `kubeconfig-${name}`);
  const env = () => ({ ...berth.awsEnv, KUBECONFIG: kubeconfig });
  const aws = async (args: string[]) =>
    ((await awsCli(berth, args)) ?? {}) as Record<string, unknown>;
  const kubectl = async (args: string[]) => (await run(KUBECTL, args, { env: env() })).stdout;
  await aws([
    "eks",
    "create-cluster",
    "--name",
    name,
    "--role-arn",
    "arn:aws:iam::000000000000:role/eks",
    "--resources-vpc-config",
    "subnetIds=subnet-a",
  ]);
  await aws([
    "eks",
    "create-fargate-profile",
    "--cluster-name",
    name,
    "--fargate-profile-name",
    "default",
    "--pod-execution-role-arn",
    "arn:aws:iam::000000000000:role/pods",
    "--selectors",
    "namespace=default",
  ]);
  await run(
    AWS,
    [
      "--endpoint-url",
      berth.endpoint,
      "eks",
      "update-kubeconfig",
      "--name",
      name,
      "--kubeconfig",
      kubeconfig,
    ],
    { env: berth.awsEnv },
  );
  return {
    kubeconfig,
    aws,
    kubectl,
    async kubectlFailure(args) {
      try {
        await kubectl(args);
      } catch (error) {
        const e = error as { code: number; stderr: string };
        return { code: e.code, stderr: e.stderr };
      }
      throw new Error(`kubectl ${args.join(" ")} succeeded`);
    },
    spawnKubectl: (args) => spawn(KUBECTL, args, { env: env(), stdio: ["ignore", "pipe", "pipe"] }),
    manifest(file, body) {
      const path = join(berth.dataDir, `${file}.json`);
      writeFileSync(path, JSON.stringify(body));
      return path;
    },
  };
}

export interface EksTestbed {
  berth: BerthProcess;
  eks: EksTestCluster;
  /** The busybox image, pushed as `busybox:latest`. */
  image: string;
}

/**
 * The EKS files' preamble: a Berth process, busybox pushed, the cluster `demo` on it. The caller
 * stops `berth` (which stops its tasks); a failed start stops it here.
 */
export async function startEksTestbed(): Promise<EksTestbed> {
  const berth = await startBerthProcess();
  try {
    const image = (await pushBusyboxImage(berth, "busybox")).uri;
    const eks = await startEksCluster(berth);
    return { berth, eks, image };
  } catch (error) {
    await berth.stop();
    throw error;
  }
}
