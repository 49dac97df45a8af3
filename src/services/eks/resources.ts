/** EKS's ARNs and the names it accepts. */
import { arn, type Identity } from "../../core/index.js";

export function clusterArnOf(identity: Identity, name: string): string {
  return arn(identity, "eks", `cluster/${name}`);
}

export function profileArnOf(
  identity: Identity,
  cluster: string,
  name: string,
  id: string,
): string {
  return arn(identity, "eks", `fargateprofile/${cluster}/${name}/${id}`);
}

/** The Kubernetes minor Berth's API server speaks (kubectl's dispatcher picks its client by it). */
export const KUBERNETES_VERSION = "1.32";
