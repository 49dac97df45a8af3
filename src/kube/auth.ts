/**
 * Who is calling a cluster's Kubernetes API: the bearer token `aws eks get-token` makes (EKS's
 * `k8s-aws-v1.` + base64url of a presigned STS GetCallerIdentity URL), verified by Berth itself
 * against its own keys: signature, age, and the signed `x-k8s-aws-id` header = this cluster.
 */
import { verifyPresignedUrl, type Authorizer, type CredentialLookup } from "../aws/index.js";
import { KubeError } from "./status.js";

const TOKEN_PREFIX = "k8s-aws-v1.";
/** EKS accepts a token for 15 minutes after it was signed, whatever its X-Amz-Expires (60 s) says. */
const TOKEN_LIFETIME_MS = 15 * 60 * 1000;
const STS_HOST = /^sts(\.[a-z0-9-]+)?\.amazonaws\.com(\.cn)?$/;

export interface KubeUser {
  username: string;
  groups: string[];
  accessKeyId: string;
}

function unauthorized(): KubeError {
  return new KubeError("Unauthorized", "Unauthorized", 401);
}

export async function authenticate(
  authorization: string | undefined,
  clusterName: string,
  lookup: CredentialLookup,
  now: Date,
  authorizer?: Authorizer,
): Promise<KubeUser> {
  const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? "");
  const token = match?.[1];
  if (token === undefined || !token.startsWith(TOKEN_PREFIX)) throw unauthorized();
  let url: URL;
  try {
    url = new URL(Buffer.from(token.slice(TOKEN_PREFIX.length), "base64url").toString("utf8"));
  } catch {
    throw unauthorized();
  }
  if (
    url.protocol !== "https:" ||
    !STS_HOST.test(url.hostname) ||
    url.searchParams.get("Action") !== "GetCallerIdentity"
  )
    throw unauthorized();
  let caller;
  try {
    caller = await verifyPresignedUrl(url, { "x-k8s-aws-id": clusterName }, lookup, now, {
      maxAgeMs: TOKEN_LIFETIME_MS,
      honourExpires: false,
      service: "sts",
    });
  } catch {
    throw unauthorized();
  }
  if (caller.principal !== undefined && caller.principal.kind !== "root") {
    // EKS maps IAM principals through access entries; Berth has none, so a principal other
    // than root needs eks:AccessKubernetesApi on the cluster and is then its admin.
    if (authorizer === undefined) throw unauthorized();
    try {
      await authorizer.authorize(caller.principal, "eks:AccessKubernetesApi", [
        {
          arn: `arn:aws:eks:${caller.region}:${caller.principal.accountId}:cluster/${clusterName}`,
        },
      ]);
    } catch {
      throw unauthorized();
    }
  }
  // Berth has one account and no RBAC: its key holder is the cluster's creator, an admin.
  return {
    username: "kubernetes-admin",
    groups: ["system:masters", "system:authenticated"],
    accessKeyId: caller.accessKeyId,
  };
}
