/**
 * A task's ephemeral storage: one sparse ext4 image of the task's size, loop-mounted, that
 * holds its containers' writable layers and its scratch volumes. A task that fills it gets
 * ENOSPC inside; the host's own filesystem only ever holds what the task really wrote.
 *
 *   <root>/<taskId>/image          the image (sparse: a fresh 20 GiB one takes ~4 MB)
 *   <root>/<taskId>/fs/            its mount point; a plain directory when the task has no size
 *     containers/<id>/             a container's overlay upper and work dirs
 *     volumes/<name>/              a scratch volume (0755, root, as on Fargate)
 *   <root>/pool/<GiB>-<uuid>/      formatted and mounted ahead (image, fs/), unclaimed
 *   <root>/pool/<GiB>-<uuid>.tmp/  being made
 *
 * A launch claims a pool entry of its size by renaming its directory to the task's (atomic, so
 * two claims never share one; the mount and its loop device go with the directory), so an
 * entry costs a launch no `mount` process and no filesystem mount on the way (~20-30 ms under
 * load); the pool of that size is refilled in the background, at the lowest CPU and I/O
 * priority. Stopping the runtime removes the pool's entries; one a host restart unmounted is
 * mounted by the launch that claims it.
 * Removal works from paths alone (umount, detach any loop device still backed by the image,
 * delete), so it is idempotent and finishes what a killed agent left half done; it also removes
 * the layout before this one (`<root>/<taskId>.img` mounted at `<root>/<taskId>`).
 *
 * A new task's image is admitted only if the host's disk can hold what every live task may
 * still write (storage-budget.ts), one admission at a time; otherwise its launch fails with
 * the numbers, and the log warns when the live tasks alone could already fill the disk.
 */
import { randomUUID } from "node:crypto";
import { existsSync, readlinkSync, statSync } from "node:fs";
import {
  chmod,
  mkdir,
  open,
  readFile,
  readdir,
  realpath,
  rename,
  rm,
  stat,
  statfs,
} from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import {
  BerthError,
  PRIVATE_DIR,
  PRIVATE_FILE,
  silentLogger,
  type Logger,
} from "../../core/index.js";
import { runCommand } from "./command.js";
import { admitStorage, offeredStorageBytes, type DiskState } from "./storage-budget.js";
import { RuntimeErrorCode } from "./errors.js";

/** Entries kept ready per size. */
const POOL_SIZE = 2;
const GiB = 1024 ** 3;

export class TaskFilesystems {
  readonly #root: string;
  readonly #pool: string;
  readonly #log: Logger;
  /** The refill under way per size (one at a time each). */
  readonly #refills = new Map<number, Promise<void>>();
  readonly #overcommit: number;
  /** Admissions run one at a time, so two launches never both count the same free space. */
  #admission: Promise<unknown> = Promise.resolve();
  #closed = false;

  constructor(root: string, log: Logger = silentLogger, overcommit = 1) {
    this.#root = root;
    this.#pool = join(root, "pool");
    this.#log = log;
    this.#overcommit = overcommit;
  }

  /** The task's storage: where its containers' layers and volumes go. */
  path(taskId: string): string {
    return join(this.#root, taskId, "fs");
  }

  /**
   * Makes the task's storage and returns its path: a mounted filesystem of `sizeGiB`, or a
   * plain directory when no size is given. Idempotent.
   */
  async create(taskId: string, sizeGiB: number | undefined, volumes: string[]): Promise<string> {
    const dir = join(this.#root, taskId);
    const path = this.path(taskId);
    if (sizeGiB !== undefined && !isMountPoint(path)) {
      if (!existsSync(join(dir, "image"))) await this.#admit(sizeGiB, dir);
      // Claimed unmounted (the host restarted since), or formatted here.
      if (!isMountPoint(path)) await mountImage(dir, false);
      this.#refill(sizeGiB);
    }
    await mkdir(join(path, "containers"), { recursive: true });
    for (const name of volumes) {
      await mkdir(join(path, "volumes", name), { recursive: true });
      // Open to the container's users, as a scratch volume is on ECS (Berth's umask is 077).
      await chmod(join(path, "volumes", name), 0o755);
    }
    return path;
  }

  /** Unmounts and deletes the task's storage; what is already gone is fine. */
  async remove(taskId: string): Promise<void> {
    const dir = join(this.#root, taskId);
    // The layout before this one, the image beside its mount point: unmounted first, so that
    // deleting the directory never reaches into a mounted filesystem.
    if (isMountPoint(dir)) await unmount(dir);
    await removeEntry(dir);
    if (existsSync(`${dir}.img`)) {
      await detachLoops(`${dir}.img`);
      await rm(`${dir}.img`, { force: true });
    }
    if (existsSync(`${dir}.img.tmp`)) await rm(`${dir}.img.tmp`, { force: true });
  }

  /** Bytes used and size of the task's filesystem; undefined when it has none. */
  async usage(taskId: string): Promise<{ usedBytes: number; sizeBytes: number } | undefined> {
    const path = this.path(taskId);
    if (!isMountPoint(path)) return undefined;
    const fs = await statfs(path);
    return { usedBytes: (fs.blocks - fs.bfree) * fs.bsize, sizeBytes: fs.blocks * fs.bsize };
  }

  /** Loop devices of tasks' storage under this store, the pool's apart (for leak checks). */
  async loopDevices(): Promise<number> {
    return (await loopDevices()).filter(
      ({ file }) => file.startsWith(this.#root + "/") && !file.startsWith(this.#pool + "/"),
    ).length;
  }

  /** True for a mount point of the pool's (held ahead, not by a task). */
  inPool(path: string): boolean {
    return path.startsWith(this.#pool + "/");
  }

  /** Waits for background formatting to finish (the pool is full). */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.#refills.values()]);
  }

  /** Stops refilling and removes the pool's entries (before the data dir may be deleted). */
  async close(): Promise<void> {
    this.#closed = true;
    await this.settled();
    for (const name of await readdir(this.#pool).catch(() => [] as string[]))
      await removeEntry(join(this.#pool, name));
  }

  /** Checks the disk can honour `sizeGiB` more, then gives the task its image in `dir`. */
  async #admit(sizeGiB: number, dir: string): Promise<void> {
    const image = join(dir, "image");
    const turn = this.#admission.then(async () => {
      await mkdir(this.#root, { recursive: true });
      const verdict = admitStorage(await this.#disk(), sizeGiB * GiB, this.#overcommit);
      const numbers = {
        usableGiB: +(verdict.usableBytes / GiB).toFixed(1),
        promisedGiB: +(verdict.promisedBytes / GiB).toFixed(1),
        overcommit: this.#overcommit,
      };
      if (verdict.overcommitted)
        this.#log.warn(
          "the host's disk cannot hold what its tasks may still write: their writes may be lost",
          numbers,
        );
      if (!verdict.fits)
        throw new BerthError(
          RuntimeErrorCode.StorageUnavailable,
          `the host's disk cannot honour ${sizeGiB} GiB of ephemeral storage: ` +
            `${numbers.usableGiB} GiB free for tasks, ${numbers.promisedGiB} GiB already promised`,
          { fault: "server" },
        );
      // What a crash mid-format left is ours to redo.
      if (existsSync(dir)) await removeEntry(dir);
      if (await this.#claim(sizeGiB, dir)) return false;
      // The sparse file, at its full size, is what later admissions count as promised.
      await mkdir(dir, { mode: PRIVATE_DIR });
      await reserve(`${image}.tmp`, sizeGiB);
      return true;
    });
    this.#admission = turn.catch(() => undefined);
    // Formatted after the turn: launches admitted together format side by side, rather than
    // each waiting for every mkfs queued before it.
    if (await turn) {
      await format(`${image}.tmp`, sizeGiB, false);
      await rename(`${image}.tmp`, image);
    }
  }

  /** GiB of disk offered to task storage (what placement counts task sizes against). */
  async offeredGiB(): Promise<number> {
    await mkdir(this.#root, { recursive: true });
    return +(offeredStorageBytes(await this.#disk(), this.#overcommit) / GiB).toFixed(1);
  }

  /** The storage disk's free space and the live task images (the pool's are promised to none). */
  async #disk(): Promise<DiskState> {
    const fs = await statfs(this.#root);
    const images: DiskState["images"] = [];
    const files = (await readdir(this.#root).catch(() => [] as string[])).flatMap((name) =>
      name === "pool"
        ? []
        : name.endsWith(".img") || name.endsWith(".img.tmp")
          ? [join(this.#root, name)]
          : [join(this.#root, name, "image"), join(this.#root, name, "image.tmp")],
    );
    // Every live task's image at each admission (two names each, one of them not there): stats
    // taken here, not on the thread pool (see isMountPoint).
    for (const file of files) {
      const info = statSync(file, { throwIfNoEntry: false });
      if (info?.isFile() === true)
        images.push({ sizeBytes: info.size, allocatedBytes: info.blocks * 512 });
    }
    return { freeBytes: fs.bfree * fs.bsize, totalBytes: fs.blocks * fs.bsize, images };
  }

  /**
   * Takes a pool entry of this size, if any: formatted, and mounted unless the host restarted
   * since (the caller mounts it then).
   */
  async #claim(sizeGiB: number, target: string): Promise<boolean> {
    const names = await readdir(this.#pool).catch(() => [] as string[]);
    for (const name of names.filter((n) => n.startsWith(`${sizeGiB}-`) && !n.endsWith(".tmp"))) {
      try {
        await rename(join(this.#pool, name), target);
      } catch {
        continue; // claimed by someone else meanwhile: try the next
      }
      if (existsSync(join(target, "image"))) return true;
      await removeEntry(target); // not an entry of ours after all
    }
    return false;
  }

  #refill(sizeGiB: number): void {
    if (this.#refills.has(sizeGiB) || this.#closed) return;
    const refill = (async () => {
      await mkdir(this.#pool, { recursive: true });
      // What a crash left half made of this size (another size's refill may be making one).
      for (const name of await readdir(this.#pool))
        if (name.startsWith(`${sizeGiB}-`) && name.endsWith(".tmp"))
          await removeEntry(join(this.#pool, name));
      for (;;) {
        const ready = (await readdir(this.#pool)).filter((n) => n.startsWith(`${sizeGiB}-`));
        if (ready.length >= POOL_SIZE || this.#closed) return;
        const entry = join(this.#pool, `${sizeGiB}-${randomUUID()}.tmp`);
        await mkdir(entry, { mode: PRIVATE_DIR });
        await format(join(entry, "image"), sizeGiB, true);
        await mountImage(entry, true);
        await rename(entry, entry.slice(0, -".tmp".length));
      }
    })()
      .catch((error: unknown) =>
        this.#log.warn("preparing task storage ahead failed", {
          sizeGiB,
          error: error instanceof Error ? error.message : String(error),
        }),
      )
      .finally(() => this.#refills.delete(sizeGiB));
    this.#refills.set(sizeGiB, refill);
  }
}

/**
 * Mounts `<dir>/image` at `<dir>/fs` (in the background at the lowest CPU and I/O priority).
 * nosuid,nodev: the host sees the containers' upper dirs here, with whatever setuid files or
 * device nodes a task made; inside the containers the overlay's own flags apply.
 */
async function mountImage(dir: string, background: boolean): Promise<void> {
  const fs = join(dir, "fs");
  // Not recursive: an entry claimed away meanwhile is not made again here.
  await mkdir(fs).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== "EEXIST") throw error;
  });
  const args = ["-t", "ext4", "-o", "loop,noatime,nosuid,nodev", join(dir, "image"), fs];
  await runCommand("mount", args, { background });
  await chmod(fs, PRIVATE_DIR);
}

/** Unmounts; a busy filesystem (a process still holds a file there) is detached now, freed later. */
async function unmount(path: string): Promise<void> {
  const { code } = await runCommand("umount", [path], { allowFailure: true });
  if (code !== 0) await runCommand("umount", ["-l", path]);
}

/** Unmounts and deletes a storage directory (a task's or a pool entry); what is gone is fine. */
async function removeEntry(dir: string): Promise<void> {
  const image = join(dir, "image");
  const device = mountedDevice(join(dir, "fs"));
  if (device !== undefined) await unmount(join(dir, "fs"));
  // A `-o loop` mount frees its device at umount (autoclear): only that device is looked at
  // again. Every device is looked at (hundreds of reads) only for an image left unmounted, as a
  // crash between attaching the device and mounting it may leave one.
  if (device?.startsWith("loop") === true) await detachLoop(device, image);
  else if (existsSync(image)) await detachLoops(image);
  await rm(dir, { recursive: true, force: true });
}

/**
 * A sparse image formatted ext4 without a journal (scratch space outlives no crash: a task is
 * gone with its host) and without reserved blocks, so nearly all of the size is usable. mke2fs
 * discards the file first (it reads as zeros), so it marks the inode tables zeroed and the
 * kernel writes no lazy init. Without the resize inode (its blocks reserved for growing the
 * filesystem online, which a task's never does) the image is ~0.3 MB until the task writes,
 * not ~4.4 MB: a 20 GiB image's format, mount and unmount took 5 ms of system CPU instead of
 * 9.5 (40 in a shell loop, twice each way).
 */
async function reserve(file: string, sizeGiB: number): Promise<void> {
  const handle = await open(file, "w", PRIVATE_FILE);
  try {
    await handle.truncate(sizeGiB * GiB);
  } finally {
    await handle.close();
  }
}

/** Formats `file` (made by `reserve`, or here when absent). */
async function format(file: string, sizeGiB: number, background: boolean): Promise<void> {
  if (!existsSync(file)) await reserve(file, sizeGiB);
  const args = [
    "-q",
    "-F",
    "-m",
    "0",
    "-O",
    "^has_journal,^resize_inode",
    "-E",
    "lazy_itable_init=1",
    file,
  ];
  // Formatting ahead yields to launches: it runs at the lowest CPU and I/O priority.
  try {
    await runCommand("mkfs.ext4", args, { background });
  } catch (error) {
    await rm(file, { force: true });
    throw error;
  }
}

/**
 * Whether a filesystem is mounted at `path`: it is on another device than the directory it is
 * in (every mount here is a loop device's ext4). Two stats, not a read of the mount table: a
 * launch asked twice, and the usage sampler once per task each time it samples. Taken on the
 * event loop: a stat of a directory in the kernel's cache costs ~3 µs of CPU there, and ~35 µs
 * through the thread pool (~60 µs for a path that is not there, which throws).
 */
function isMountPoint(path: string): boolean {
  return mountedDev(path) !== undefined;
}

/** The device number of what is mounted at `path` (see isMountPoint); undefined: nothing. */
function mountedDev(path: string): number | undefined {
  const own = statSync(path, { throwIfNoEntry: false });
  const parent = own === undefined ? undefined : statSync(dirname(path), { throwIfNoEntry: false });
  return own !== undefined && parent !== undefined && own.dev !== parent.dev ? own.dev : undefined;
}

/**
 * The block device mounted at `path` (its name under /sys/block: "loop3"), "" for a mount of
 * another kind; undefined when nothing is mounted there. From the mount point's device number,
 * not the mount table, whose reading costs in proportion to every mount on the host (each task
 * holds three).
 */
function mountedDevice(path: string): string | undefined {
  const dev = mountedDev(path);
  if (dev === undefined) return undefined;
  // glibc's dev_t: the minor's low 8 bits, the major's 12, the minor's next 12.
  const major = (dev >>> 8) & 0xfff;
  const minor = (dev & 0xff) | ((dev >>> 12) & 0xfff00);
  try {
    return basename(readlinkSync(`/sys/dev/block/${major}:${minor}`));
  } catch {
    return "";
  }
}

/** Every attached loop device and its backing file. */
async function loopDevices(): Promise<Array<{ device: string; file: string }>> {
  const names = await readdir("/sys/block").catch(() => [] as string[]);
  const devices: Array<{ device: string; file: string }> = [];
  for (const device of names.filter((d) => d.startsWith("loop"))) {
    const file = await backingFile(device);
    if (file !== undefined) devices.push({ device, file });
  }
  return devices;
}

/** The file loop device `device` (loopN) is bound to, if it is bound. */
async function backingFile(device: string): Promise<string | undefined> {
  const file = await readFile(join("/sys/block", device, "loop", "backing_file"), "utf8").catch(
    () => undefined,
  );
  return file?.trim().replace(/ \(deleted\)$/, "");
}

/** A mount made with `-o loop` frees its device on umount; a crash mid-mount may leave one. */
async function detachLoops(image: string): Promise<void> {
  for (const { device, file } of await loopDevices())
    if (file === image)
      await runCommand("losetup", ["-d", `/dev/${device}`], { allowFailure: true });
}

/** Detaches loop device `device` (loopN) if it is still bound to `image`. */
async function detachLoop(device: string, image: string): Promise<void> {
  if ((await backingFile(device)) === image)
    await runCommand("losetup", ["-d", `/dev/${device}`], { allowFailure: true });
}

/**
 * Copies what the image has at `destination` into an empty volume directory, as Docker and
 * Fargate fill a new volume from the image's VOLUME path. A path that leads out of the root
 * filesystem through a symlink is left alone (Docker would resolve it inside the container).
 */
export async function seedVolume(
  rootfs: string,
  destination: string,
  volume: string,
): Promise<void> {
  if ((await readdir(volume)).length > 0) return;
  const root = await realpath(rootfs);
  const content = await realpath(join(rootfs, destination)).catch(() => undefined);
  if (content === undefined || !content.startsWith(root + "/")) return;
  if (!(await stat(content)).isDirectory()) return;
  await runCommand("cp", ["-a", "--", `${content}/.`, `${volume}/`]);
}

/** Removes every task's storage under `root`, and the pool's entries (purging a host). */
export async function purgeTaskStorage(root: string): Promise<void> {
  const pool = join(root, "pool");
  for (const name of await readdir(pool).catch(() => [] as string[]))
    await removeEntry(join(pool, name));
  const storage = new TaskFilesystems(root);
  const names = await readdir(root).catch(() => [] as string[]);
  for (const name of names.filter((n) => n !== "pool" && !n.endsWith(".tmp"))) {
    await storage.remove(name.replace(/\.img$/, ""));
  }
}
