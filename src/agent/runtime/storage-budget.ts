/**
 * Whether the host's disk can honour a task's ephemeral storage (issue 12, item 10). Task
 * filesystems are sparse images: the host's disk holds only what tasks wrote, and a disk that
 * fills under them loses their writes silently ("potential data loss" in the kernel log). So a
 * new task is admitted only if everything the live tasks may still write (each image's size
 * less what it already holds) plus the new task's size fits in the disk's free space, less a
 * reserve for Berth and the host, times the operator's overcommit ratio (1: every GiB promised
 * is a GiB free; `BERTH_STORAGE_OVERCOMMIT` raises it on a host whose tasks write little).
 * Pure: task-storage.ts measures the disk and the images.
 */

export interface DiskState {
  /** statfs of the storage directory: free bytes for root, and the filesystem's size. */
  freeBytes: number;
  totalBytes: number;
  /** Each live task image: its size and the bytes it already holds on the disk. */
  images: Array<{ sizeBytes: number; allocatedBytes: number }>;
}

export interface StorageVerdict {
  fits: boolean;
  /** What live tasks may still write. */
  promisedBytes: number;
  /** Free space less the reserve: what tasks may write without loss. */
  usableBytes: number;
  /** The live tasks alone may already write more than the disk holds: warn the operator. */
  overcommitted: boolean;
}

const GiB = 1024 ** 3;
/** Kept free for Berth and the host: 5% of the disk, at least 1 GiB. */
export function reserveBytes(totalBytes: number): number {
  return Math.max(GiB, Math.floor(totalBytes * 0.05));
}

export function admitStorage(
  disk: DiskState,
  requestBytes: number,
  overcommit = 1,
): StorageVerdict {
  const promisedBytes = disk.images.reduce(
    (sum, image) => sum + Math.max(0, image.sizeBytes - image.allocatedBytes),
    0,
  );
  const usableBytes = Math.max(0, disk.freeBytes - reserveBytes(disk.totalBytes));
  return {
    fits: promisedBytes + requestBytes <= usableBytes * Math.max(1, overcommit),
    promisedBytes,
    usableBytes,
    overcommitted: promisedBytes > usableBytes,
  };
}

/** The operator's ratio from the environment: a number >= 1, else 1. */
export function overcommitFrom(value: string | undefined): number {
  const ratio = Number(value);
  return value !== undefined && Number.isFinite(ratio) && ratio >= 1 ? ratio : 1;
}

/**
 * The disk this host offers to task storage, in bytes, for placement to count task sizes
 * against (as it counts CPU and memory): free space less the reserve, plus what live task
 * images already hold (that counts against their own sizes), times the overcommit ratio.
 */
export function offeredStorageBytes(disk: DiskState, overcommit = 1): number {
  const allocated = disk.images.reduce((sum, image) => sum + image.allocatedBytes, 0);
  const usable = Math.max(0, disk.freeBytes - reserveBytes(disk.totalBytes));
  return Math.floor((usable + allocated) * Math.max(1, overcommit));
}
