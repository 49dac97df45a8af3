/**
 * Linux capabilities of a container: Docker's default set, changed by the task definition's
 * `linuxParameters.capabilities` add/drop lists (ECS names, without `CAP_`; `ALL` allowed in
 * drop). Adding is bounded by what Fargate allows (SYS_PTRACE): the API refuses the rest, and
 * this refuses them again, so a bad record that reached a host (an old definition, a forged
 * assignment) never gives a container CAP_SYS_ADMIN and the seccomp rules that go with it.
 */
import { invalidSpec } from "./errors.js";

/** Every capability the kernel knows (5.9+), in the kernel's order. */
export const ALL_CAPABILITIES = [
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_DAC_READ_SEARCH",
  "CAP_FOWNER",
  "CAP_FSETID",
  "CAP_KILL",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETPCAP",
  "CAP_LINUX_IMMUTABLE",
  "CAP_NET_BIND_SERVICE",
  "CAP_NET_BROADCAST",
  "CAP_NET_ADMIN",
  "CAP_NET_RAW",
  "CAP_IPC_LOCK",
  "CAP_IPC_OWNER",
  "CAP_SYS_MODULE",
  "CAP_SYS_RAWIO",
  "CAP_SYS_CHROOT",
  "CAP_SYS_PTRACE",
  "CAP_SYS_PACCT",
  "CAP_SYS_ADMIN",
  "CAP_SYS_BOOT",
  "CAP_SYS_NICE",
  "CAP_SYS_RESOURCE",
  "CAP_SYS_TIME",
  "CAP_SYS_TTY_CONFIG",
  "CAP_MKNOD",
  "CAP_LEASE",
  "CAP_AUDIT_WRITE",
  "CAP_AUDIT_CONTROL",
  "CAP_SETFCAP",
  "CAP_MAC_OVERRIDE",
  "CAP_MAC_ADMIN",
  "CAP_SYSLOG",
  "CAP_WAKE_ALARM",
  "CAP_BLOCK_SUSPEND",
  "CAP_AUDIT_READ",
  "CAP_PERFMON",
  "CAP_BPF",
  "CAP_CHECKPOINT_RESTORE",
] as const;

/**
 * Docker's default capability set, which ECS (and so Fargate) containers get, NET_RAW included
 * (Fargate's containers list it, aws/containers-roadmap#409; ping works there). What NET_RAW
 * would allow against other tasks (forged ARP and source addresses) the bridge port guard
 * (agent/network/port-guard.ts) stops.
 */
export const DEFAULT_CAPABILITIES = [
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_FSETID",
  "CAP_FOWNER",
  "CAP_MKNOD",
  "CAP_NET_RAW",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETFCAP",
  "CAP_SETPCAP",
  "CAP_NET_BIND_SERVICE",
  "CAP_SYS_CHROOT",
  "CAP_KILL",
  "CAP_AUDIT_WRITE",
];

/** What a container may hold: Docker's defaults plus the one capability Fargate lets a task add. */
export const ALLOWED_CAPABILITIES: readonly string[] = [...DEFAULT_CAPABILITIES, "CAP_SYS_PTRACE"];

function normalize(name: string): string {
  const upper = name.trim().toUpperCase();
  if (upper === "ALL") return upper;
  const full = upper.startsWith("CAP_") ? upper : `CAP_${upper}`;
  if (!(ALL_CAPABILITIES as readonly string[]).includes(full)) {
    throw invalidSpec(`unknown capability ${JSON.stringify(name)}`);
  }
  return full;
}

/** The effective set: defaults, then drops, then adds (so `drop ALL, add X` keeps only X). */
export function resolveCapabilities(add: string[] = [], drop: string[] = []): string[] {
  const adds = add.map(normalize);
  const drops = drop.map(normalize);
  for (const cap of adds)
    if (!ALLOWED_CAPABILITIES.includes(cap))
      throw invalidSpec(
        `capability ${cap} may not be added: a task may add only CAP_SYS_PTRACE to the default set`,
      );
  let set = new Set(DEFAULT_CAPABILITIES);
  if (drops.includes("ALL")) set = new Set();
  for (const cap of drops) set.delete(cap);
  for (const cap of adds) set.add(cap);
  return ALL_CAPABILITIES.filter((cap) => set.has(cap));
}
