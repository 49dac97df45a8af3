/**
 * The network namespace a task's containers share: a fresh namespace with only loopback and no
 * IPv4 forwarding, kept alive by a bind mount of its nsfs file under the runtime's run dir. One
 * `unshare` process (a shell that sets the sysctl, then `ip link set lo up`) makes it, ~8 ms;
 * one umount removes it. The task
 * network (src/agent/network) puts the task's eth0 in this same namespace.
 */
import { mkdir, readdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { runCommand } from "./command.js";

export class NetnsStore {
  constructor(readonly dir: string) {}

  path(taskId: string): string {
    return join(this.dir, taskId);
  }

  /** `background`: made ahead of any task, at the lowest CPU priority. */
  async create(taskId: string, background = false): Promise<string> {
    const file = this.path(taskId);
    await mkdir(this.dir, { recursive: true });
    await writeFile(file, "", { flag: "a" });
    const command = [
      "unshare",
      `--net=${file}`,
      "sh",
      "-c",
      "echo 0 > /proc/sys/net/ipv4/ip_forward && exec ip link set lo up",
    ];
    try {
      // A new namespace copies the host's IPv4 settings, forwarding on (the task network
      // turns it on for the host): a task must not route for others, so it is turned off inside.
      const [program, ...args] = command;
      await runCommand(program as string, args, { background });
    } catch (error) {
      await this.remove(taskId);
      throw error;
    }
    return file;
  }

  async remove(taskId: string): Promise<void> {
    await this.removePath(this.path(taskId));
  }

  /** Removes the namespace file at `file` (one of this store's). */
  async removePath(file: string): Promise<void> {
    // umount -l: a namespace some process still holds is freed when that process goes.
    await runCommand("umount", ["-l", file], { allowFailure: true });
    await rm(file, { force: true });
  }

  /** Every namespace file here. */
  async list(): Promise<string[]> {
    return (await readdir(this.dir).catch(() => [] as string[])).map((name) =>
      join(this.dir, name),
    );
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
