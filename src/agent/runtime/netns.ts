/**
 * The network namespace a task's containers share: a fresh namespace with only loopback and no
 * IPv4 forwarding, kept alive by a bind mount of its nsfs file under the runtime's run dir. One
 * `unshare` process (a shell that sets the sysctl, then `ip link set lo up`) makes it, ~8 ms;
 * one umount removes it. The task
 * network (src/agent/network, CNI) puts the task's eth0 in this same namespace.
 */
import { mkdir, readdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { runCommand } from "./command.js";

export class NetnsStore {
  constructor(readonly dir: string) {}

  path(taskId: string): string {
    return join(this.dir, taskId);
  }

  async create(taskId: string): Promise<string> {
    const file = this.path(taskId);
    await mkdir(this.dir, { recursive: true });
    await writeFile(file, "", { flag: "a" });
    try {
      // A new namespace copies the host's IPv4 settings, forwarding on (the CNI bridge turns
      // it on for the host): a task must not route for others, so it is turned off inside.
      await runCommand("unshare", [
        `--net=${file}`,
        "sh",
        "-c",
        "echo 0 > /proc/sys/net/ipv4/ip_forward && exec ip link set lo up",
      ]);
    } catch (error) {
      await this.remove(taskId);
      throw error;
    }
    return file;
  }

  async remove(taskId: string): Promise<void> {
    const file = this.path(taskId);
    // umount -l: a namespace some process still holds is freed when that process goes.
    await runCommand("umount", ["-l", file], { allowFailure: true });
    await rm(file, { force: true });
  }
}

/**
 * Removes every namespace under `dir`: those whose sandbox was recorded go with it, but an
 * agent killed between making a namespace and recording its sandbox leaves one mounted.
 */
export async function purgeNetns(dir: string): Promise<void> {
  const store = new NetnsStore(dir);
  for (const name of await readdir(dir).catch(() => [] as string[])) await store.remove(name);
}
