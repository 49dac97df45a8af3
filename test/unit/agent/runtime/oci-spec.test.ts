/** The OCI spec a container gets: namespaces, masks, capabilities, seccomp, limits, init. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  buildOciSpec,
  cpuQuotaUs,
  DEFAULT_CAPABILITIES,
  defaultSeccompProfile,
  MASKED_PATHS,
  resolveCapabilities,
  type ContainerSpec,
} from "../../../../src/agent/runtime/index.js";

const ctx = {
  rootfsPath: "/r",
  netnsPath: "/run/netns/t1",
  cgroupsPath: "/berth/t1/c1",
  cgroupVersion: 1 as const,
  user: { uid: 1000, gid: 1000, additionalGids: [2000], home: "/home/app" },
  etcFiles: { hostname: "/b/hostname", hosts: "/b/hosts", resolvConf: "/b/resolv.conf" },
  initBinary: "/usr/bin/catatonit",
};

const base: ContainerSpec = {
  id: "c1",
  taskId: "t1",
  name: "web",
  rootfs: { path: "/r" },
  args: ["nginx", "-g", "daemon off;"],
};

interface Spec {
  process: {
    args: string[];
    env: string[];
    cwd: string;
    user: unknown;
    rlimits: { type: string; soft: number; hard: number }[];
    capabilities: { bounding: string[]; effective: string[] };
  };
  root: { readonly: boolean };
  hostname: string;
  mounts: { destination: string; source: string; options?: string[] }[];
  annotations: Record<string, string>;
  linux: {
    cgroupsPath: string;
    namespaces: { type: string; path?: string }[];
    maskedPaths: string[];
    resources: { memory: Record<string, number>; cpu: Record<string, number> };
    seccomp: ReturnType<typeof defaultSeccompProfile>;
  };
}

const build = (extra: Partial<ContainerSpec> = {}) =>
  buildOciSpec({ ...base, ...extra }, ctx) as unknown as Spec;

describe("buildOciSpec", () => {
  it("gives own pid, mount, ipc and uts namespaces and joins the task's network namespace", () => {
    const spec = build();
    assert.deepEqual(spec.linux.namespaces, [
      { type: "pid" },
      { type: "mount" },
      { type: "ipc" },
      { type: "uts" },
      { type: "network", path: "/run/netns/t1" },
    ]);
    assert.equal(spec.linux.cgroupsPath, "/berth/t1/c1");
    assert.deepEqual(spec.linux.maskedPaths, MASKED_PATHS);
    assert.ok(spec.linux.maskedPaths.includes("/proc/kcore"));
  });

  it("joins the task's PID namespace by path under pidMode task", () => {
    const spec = buildOciSpec(base, { ...ctx, pidnsPath: "/proc/42/ns/pid" }) as unknown as Spec;
    assert.deepEqual(spec.linux.namespaces[0], { type: "pid", path: "/proc/42/ns/pid" });
    assert.deepEqual(spec.linux.namespaces[4], { type: "network", path: "/run/netns/t1" });
  });

  it("sets the process: args, env defaults, cwd, user, hostname, labels", () => {
    const spec = build({
      env: { A: "1", PATH: "/custom" },
      cwd: "/srv",
      hostname: "h1",
      labels: { team: "x" },
    });
    assert.deepEqual(spec.process.args, ["nginx", "-g", "daemon off;"]);
    assert.deepEqual(spec.process.env, ["PATH=/custom", "HOSTNAME=h1", "HOME=/home/app", "A=1"]);
    assert.equal(spec.process.cwd, "/srv");
    assert.deepEqual(spec.process.user, { uid: 1000, gid: 1000, additionalGids: [2000] });
    assert.equal(spec.hostname, "h1");
    assert.equal(spec.annotations["label.team"], "x");
    assert.equal(spec.root.readonly, false);
    assert.equal(build({ readonlyRootfs: true }).root.readonly, true);
  });

  it("puts catatonit in front with initProcessEnabled", () => {
    const spec = build({ initProcessEnabled: true });
    assert.deepEqual(spec.process.args, ["/dev/init", "-g", "--", "nginx", "-g", "daemon off;"]);
    const init = spec.mounts.find((m) => m.destination === "/dev/init");
    assert.equal(init?.source, "/usr/bin/catatonit");
    assert.ok(init?.options?.includes("ro"));
  });

  it("maps container cpu to shares and memory to hard and soft limits without swap", () => {
    const spec = build({ cpuShares: 1, memoryMiB: 512, memoryReservationMiB: 128 });
    assert.deepEqual(spec.linux.resources.cpu, { shares: 2 });
    assert.deepEqual(spec.linux.resources.memory, {
      limit: 512 * 1048576,
      swap: 512 * 1048576,
      reservation: 128 * 1048576,
    });
    assert.deepEqual(build().linux.resources.memory, {});
  });

  it("maps ulimits by ECS name and refuses unknown ones", () => {
    const spec = build({
      ulimits: [
        { name: "nofile", softLimit: 1024, hardLimit: 4096 },
        { name: "core", softLimit: 0, hardLimit: 0 },
      ],
    });
    assert.deepEqual(spec.process.rlimits, [
      { type: "RLIMIT_NOFILE", soft: 1024, hard: 4096 },
      { type: "RLIMIT_CORE", soft: 0, hard: 0 },
    ]);
    assert.equal(build().process.rlimits[0]?.type, "RLIMIT_NOFILE");
    assert.throws(() => build({ ulimits: [{ name: "bogus", softLimit: 1, hardLimit: 1 }] }), {
      code: "InvalidContainerSpec",
    });
    assert.throws(() => build({ ulimits: [{ name: "nproc", softLimit: 2, hardLimit: 1 }] }), {
      code: "InvalidContainerSpec",
    });
    assert.throws(() => build({ args: [] }), { code: "InvalidContainerSpec" });
  });
});

describe("capabilities", () => {
  it("starts from Docker's default set and applies drop, then add", () => {
    assert.deepEqual(new Set(resolveCapabilities()), new Set(DEFAULT_CAPABILITIES));
    assert.equal(DEFAULT_CAPABILITIES.length, 14);
    const added = resolveCapabilities(["SYS_PTRACE"], ["NET_RAW", "CAP_MKNOD"]);
    assert.ok(added.includes("CAP_SYS_PTRACE"));
    assert.ok(!added.includes("CAP_NET_RAW") && !added.includes("CAP_MKNOD"));
    assert.deepEqual(resolveCapabilities(["NET_BIND_SERVICE"], ["ALL"]), ["CAP_NET_BIND_SERVICE"]);
    assert.throws(() => resolveCapabilities(["WIZARDRY"]), { code: "InvalidContainerSpec" });
    // beyond the defaults, only SYS_PTRACE may be added (Fargate's rule, held on the host too)
    for (const add of [["SYS_ADMIN"], ["ALL"], ["NET_ADMIN"], ["BPF"]])
      assert.throws(() => resolveCapabilities(add), { code: "InvalidContainerSpec" });
    assert.throws(() => build({ capabilities: { add: ["SYS_ADMIN"] } }), {
      code: "InvalidContainerSpec",
    });
    const spec = build({ capabilities: { drop: ["ALL"] } });
    assert.deepEqual(spec.process.capabilities.bounding, []);
  });
});

describe("seccomp profile", () => {
  const names = (profile: ReturnType<typeof defaultSeccompProfile>, action = "SCMP_ACT_ALLOW") =>
    new Set(profile.syscalls.filter((r) => r.action === action && !r.args).flatMap((r) => r.names));

  it("denies by default with EPERM and allows the ordinary calls", () => {
    const profile = defaultSeccompProfile(DEFAULT_CAPABILITIES);
    assert.equal(profile.defaultAction, "SCMP_ACT_ERRNO");
    assert.equal(profile.defaultErrnoRet, 1);
    const allowed = names(profile);
    for (const call of ["read", "write", "execve"]) assert.ok(allowed.has(call), call);
    for (const call of [
      "mount",
      "unshare",
      "setns",
      "bpf",
      "reboot",
      "init_module",
      "kexec_load",
    ]) {
      assert.ok(!allowed.has(call), call);
    }
    assert.ok(allowed.has("chroot"), "CAP_SYS_CHROOT is in the default set");
    // clone only without namespace flags; clone3 answers ENOSYS
    const clone = profile.syscalls.find((r) => r.names.includes("clone"));
    assert.equal(clone?.args?.[0]?.op, "SCMP_CMP_MASKED_EQ");
    const clone3 = profile.syscalls.find((r) => r.names.includes("clone3"));
    assert.deepEqual([clone3?.action, clone3?.errnoRet], ["SCMP_ACT_ERRNO", 38]);
  });

  it("allows what a capability the container has needs", () => {
    const profile = defaultSeccompProfile([
      ...DEFAULT_CAPABILITIES,
      "CAP_SYS_ADMIN",
      "CAP_SYS_PTRACE",
    ]);
    const allowed = names(profile);
    for (const call of ["mount", "unshare", "setns", "clone", "clone3"])
      assert.ok(allowed.has(call), call);
  });
});

describe("cpuQuotaUs", () => {
  it("turns CPU units into a CFS quota of a 100 ms period", () => {
    assert.equal(cpuQuotaUs(256), 25_000);
    assert.equal(cpuQuotaUs(1024), 100_000);
    assert.equal(cpuQuotaUs(4096), 400_000);
    assert.equal(cpuQuotaUs(1), 1000);
  });
});
