/**
 * EKS on Fargate's rules for a pod, as pure functions: which Fargate profile takes it, why it
 * cannot run on Fargate, and how big its task is (max(largest init container, sum of app
 * containers) for CPU and memory, plus 256 MB for the node's components, rounded up to the
 * nearest Fargate size), with the `CapacityProvisioned` text EKS annotates.
 */
import type { KubeObject } from "../objects.js";

export interface ProfileSelector {
  namespace?: string;
  labels?: Record<string, string>;
}

export interface FargateProfileView {
  name: string;
  selectors: ProfileSelector[];
  subnets: string[];
}

export const PROFILE_LABEL = "eks.amazonaws.com/fargate-profile";
export const CAPACITY_ANNOTATION = "CapacityProvisioned";

export interface Container {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  workingDir?: string;
  env?: { name: string; value?: string }[];
  ports?: { containerPort: number; hostPort?: number; protocol?: string; name?: string }[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: { privileged?: boolean; runAsUser?: number; runAsGroup?: number };
  readinessProbe?: unknown;
}

export interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  hostNetwork?: boolean;
  restartPolicy?: string;
  terminationGracePeriodSeconds?: number;
  nodeName?: string;
  schedulerName?: string;
}

export function podSpec(pod: KubeObject): PodSpec {
  return (pod.spec ?? { containers: [] }) as unknown as PodSpec;
}

/**
 * The profile that takes the pod: the one its `eks.amazonaws.com/fargate-profile` label names,
 * else the first by name whose selector matches its namespace and labels (EKS's order).
 */
export function selectProfile(
  pod: KubeObject,
  profiles: FargateProfileView[],
): FargateProfileView | undefined {
  const labels = pod.metadata.labels ?? {};
  const sorted = [...profiles].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const matches = (p: FargateProfileView) =>
    p.selectors.some(
      (s) =>
        s.namespace === pod.metadata.namespace &&
        Object.entries(s.labels ?? {}).every(([k, v]) => labels[k] === v),
    );
  const named = labels[PROFILE_LABEL];
  if (named !== undefined) {
    const profile = sorted.find((p) => p.name === named);
    return profile !== undefined && matches(profile) ? profile : undefined;
  }
  return sorted.find(matches);
}

const GPU_RESOURCES = /^(nvidia\.com|amd\.com|aws\.amazon\.com)\/(gpu|neuron.*)$/;

/** Why Fargate cannot run this pod (EKS's FailedScheduling reasons); undefined when it can. */
export function unschedulableReason(pod: KubeObject): string | undefined {
  const spec = podSpec(pod);
  if (spec.hostNetwork === true)
    return "Pod not supported on Fargate: hostNetwork is not supported";
  const all = [...(spec.initContainers ?? []), ...spec.containers];
  for (const c of all) {
    if (c.securityContext?.privileged === true)
      return `Pod not supported on Fargate: invalid SecurityContext fields: Privileged`;
    if ((c.ports ?? []).some((p) => p.hostPort !== undefined && p.hostPort !== 0))
      return "Pod not supported on Fargate: fields not supported: HostPort";
    const resources = { ...c.resources?.limits, ...c.resources?.requests };
    const gpu = Object.keys(resources).find((r) => GPU_RESOURCES.test(r));
    if (gpu !== undefined) return `Pod not supported on Fargate: invalid resources: ${gpu}`;
  }
  return undefined;
}

/** "250m" / "1" / "1.5" -> CPU units (1024 per core); undefined when not a quantity. */
export function cpuUnits(quantity: string | undefined): number | undefined {
  if (quantity === undefined) return undefined;
  const m = /^(\d+(?:\.\d+)?)(m?)$/.exec(quantity.trim());
  if (m === null) return undefined;
  const cores = m[2] === "m" ? Number(m[1]) / 1000 : Number(m[1]);
  return cores * 1024;
}

const MEMORY_SUFFIX: Record<string, number> = {
  "": 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  Ki: 1024,
  Mi: 1024 ** 2,
  Gi: 1024 ** 3,
  Ti: 1024 ** 4,
};

/** "512Mi" / "1G" / "1073741824" -> MiB; undefined when not a quantity. */
export function memoryMiB(quantity: string | undefined): number | undefined {
  if (quantity === undefined) return undefined;
  const m = /^(\d+(?:\.\d+)?)(k|M|G|T|Ki|Mi|Gi|Ti)?$/.exec(quantity.trim());
  if (m === null) return undefined;
  return (Number(m[1]) * (MEMORY_SUFFIX[m[2] ?? ""] ?? 1)) / 1024 ** 2;
}

/** A container's request (a limit alone counts as the request, as Kubernetes defaults it). */
function request(c: Container, name: "cpu" | "memory"): number {
  const value = c.resources?.requests?.[name] ?? c.resources?.limits?.[name];
  return (name === "cpu" ? cpuUnits(value) : memoryMiB(value)) ?? 0;
}

export interface PodSize {
  cpu: number;
  memory: number;
  /** `0.25vCPU 0.5GB`, EKS's CapacityProvisioned annotation. */
  capacity: string;
}

/** The memory Fargate adds for kubelet, kube-proxy and containerd. */
const NODE_OVERHEAD_MIB = 256;

export function sizePod(
  pod: KubeObject,
  sizes: ReadonlyMap<number, readonly number[]>,
): PodSize | undefined {
  const spec = podSpec(pod);
  const init = spec.initContainers ?? [];
  const cpuNeed = Math.max(
    0,
    ...init.map((c) => request(c, "cpu")),
    spec.containers.reduce((sum, c) => sum + request(c, "cpu"), 0),
  );
  const memoryNeed =
    Math.max(
      0,
      ...init.map((c) => request(c, "memory")),
      spec.containers.reduce((sum, c) => sum + request(c, "memory"), 0),
    ) + NODE_OVERHEAD_MIB;
  for (const cpu of [...sizes.keys()].sort((a, b) => a - b)) {
    if (cpu < cpuNeed) continue;
    const memory = (sizes.get(cpu) ?? []).find((m) => m >= memoryNeed);
    if (memory !== undefined)
      return { cpu, memory, capacity: `${cpu / 1024}vCPU ${memory / 1024}GB` };
  }
  return undefined;
}
