/** Test fixtures for the runtime: a busybox root filesystem and a runtime in a temp dir. */
import { execFileSync } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ContainerRuntime, ContainerSpec } from "../../../../src/agent/runtime/index.js";

export const BUSYBOX_APPLETS = [
  "sh",
  "echo",
  "sleep",
  "true",
  "cat",
  "ls",
  "ps",
  "head",
  "dd",
  "yes",
  "kill",
  "grep",
  "id",
  "hostname",
  "touch",
  "test",
  "mount",
  "readlink",
];

/** A minimal root filesystem: static busybox as /bin/busybox, applet links, /etc files. */
export function makeBusyboxRootfs(dir: string): string {
  mkdirSync(join(dir, "bin"), { recursive: true });
  for (const sub of ["etc", "tmp", "proc", "sys", "dev", "root"])
    mkdirSync(join(dir, sub), { recursive: true });
  copyFileSync("/usr/bin/busybox", join(dir, "bin/busybox"));
  execFileSync("chmod", ["755", join(dir, "bin/busybox")]);
  for (const applet of BUSYBOX_APPLETS) symlinkSync("busybox", join(dir, "bin", applet));
  writeFileSync(
    join(dir, "etc/passwd"),
    "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n",
  );
  writeFileSync(
    join(dir, "etc/group"),
    "root:x:0:\nnogroup:x:65534:\napp:x:1000:\nextra:x:2000:app\n",
  );
  writeFileSync(join(dir, "rootfs-marker"), "berth-test-rootfs\n");
  return dir;
}

export interface RuntimeFixture {
  dir: string;
  rootfs: string;
  cgroupParent: string;
  cleanup(runtime: ContainerRuntime): Promise<void>;
}

/** A temp data dir, a busybox rootfs and a private cgroup parent for one test file. */
export function makeFixture(): RuntimeFixture {
  const dir = mkdtempSync(join(tmpdir(), "berth-rt-"));
  const rootfs = makeBusyboxRootfs(join(dir, "rootfs"));
  const cgroupParent = `berth-test-${process.pid}`;
  return {
    dir,
    rootfs,
    cgroupParent,
    async cleanup(runtime) {
      await deleteEverything(runtime);
      removeCgroupParent(cgroupParent);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Removes a test's cgroup parent (and anything left below it) in every hierarchy. */
export function removeCgroupParent(parent: string): void {
  for (const hierarchy of readdirSync("/sys/fs/cgroup")) {
    const base = join("/sys/fs/cgroup", hierarchy, parent);
    if (!existsSync(base)) continue;
    execFileSync("find", [base, "-depth", "-type", "d", "-exec", "rmdir", "{}", ";"], {
      stdio: "ignore",
    });
  }
}

/** Deletes whatever a runtime still holds (after a failed test), then closes it. */
export async function deleteEverything(runtime: ContainerRuntime): Promise<void> {
  const { sandboxes, containers } = await runtime.list();
  for (const c of containers) await runtime.deleteContainer(c.id).catch(() => undefined);
  for (const s of sandboxes) await runtime.destroySandbox(s.taskId).catch(() => undefined);
  await runtime.close();
}

let counter = 0;
export function uniqueId(prefix: string): string {
  counter += 1;
  return `${prefix}-${process.pid}-${counter}`;
}

export function busyboxSpec(
  fixture: RuntimeFixture,
  taskId: string,
  args: string[],
  extra: Partial<ContainerSpec> = {},
): ContainerSpec {
  return {
    id: uniqueId("c"),
    taskId,
    name: "app",
    rootfs: { path: fixture.rootfs },
    args,
    ...extra,
  };
}

export async function collectLogs(runtime: ContainerRuntime, id: string): Promise<string> {
  const lines: string[] = [];
  for await (const line of runtime.readLogs(id)) lines.push(line.text);
  return lines.join("\n");
}
