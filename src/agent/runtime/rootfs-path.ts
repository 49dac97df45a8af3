/**
 * Paths inside a container's root filesystem, resolved as the container would see them: a
 * symlink in the image (`/etc/passwd -> /host/file`, `/etc -> ../../..`) is followed relative
 * to the rootfs, and `..` stops at its root, so the host's own files are never read in the
 * container's name. Node has no openat2(RESOLVE_IN_ROOT): components are walked one by one.
 */
import { lstat, readFile, readlink } from "node:fs/promises";
import { join } from "node:path";

/** Symlinks followed at most (Linux's own limit). */
const MAX_LINKS = 40;

/**
 * The host path of `path` inside `root`, every symlink resolved within `root`; undefined when a
 * component is missing or the links loop. The result's last component is not a symlink.
 */
export async function resolveInRoot(root: string, path: string): Promise<string | undefined> {
  const pending = path.split("/").filter((part) => part !== "" && part !== ".");
  const resolved: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const part = pending.shift() as string;
    if (part === "..") {
      resolved.pop();
      continue;
    }
    const host = join(root, ...resolved, part);
    const stat = await lstat(host).catch(() => undefined);
    if (stat === undefined) return undefined;
    if (!stat.isSymbolicLink()) {
      resolved.push(part);
      continue;
    }
    if (++links > MAX_LINKS) return undefined;
    const target = await readlink(host);
    // An absolute target starts again at the container's root.
    if (target.startsWith("/")) resolved.length = 0;
    pending.unshift(...target.split("/").filter((p) => p !== "" && p !== "."));
  }
  return join(root, ...resolved);
}

/** The text of `path` inside `root` (see resolveInRoot), or undefined when there is none. */
export async function readInRoot(root: string, path: string): Promise<string | undefined> {
  const host = await resolveInRoot(root, path);
  if (host === undefined) return undefined;
  return readFile(host, "utf8").catch(() => undefined);
}
