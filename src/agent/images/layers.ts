/**
 * Unpacking one layer (a tar, gzip-compressed or not) into its own snapshot directory, in the
 * form overlayfs reads: a `.wh.NAME` whiteout becomes a 0:0 character device NAME, and an
 * opaque directory marker (`.wh..wh..opq`) becomes the `trusted.overlay.opaque=y` xattr. The
 * snapshot is written to a temp directory and renamed into place, so a crash leaves no half
 * snapshot behind. node-tar refuses absolute paths and `..`, so a layer cannot write outside.
 *
 * Device nodes a layer ships are not made (as rootless unpackers — containers/storage in a
 * user namespace, umoci --rootless — skip them): on the host they would be usable nodes onto
 * its disks for whoever reaches them. A container gets its devices from the runtime's /dev,
 * which hides the image's /dev anyway. FIFOs are kept. Setuid bits are kept (the snapshots
 * directory is mounted nosuid, see store.ts).
 */
import { execFile } from "node:child_process";
import {
  chmodSync,
  createReadStream,
  lchownSync,
  lstatSync,
  mkdirSync,
  renameSync,
  rmSync,
  symlinkSync,
} from "node:fs";
import { open } from "node:fs/promises";
import { dirname, join, posix } from "node:path";
import { promisify } from "node:util";
import { createGunzip } from "node:zlib";
import { extract, type TarOptionsWithAliasesAsyncNoFile as TarOptions } from "tar";
import { BerthError } from "../../core/index.js";

const run = promisify(execFile);

const WHITEOUT_PREFIX = ".wh.";
const OPAQUE = ".wh..wh..opq";

export const LAYER_MEDIA_TYPES = new Set([
  "application/vnd.oci.image.layer.v1.tar",
  "application/vnd.oci.image.layer.v1.tar+gzip",
  "application/vnd.docker.image.rootfs.diff.tar.gzip",
  "application/vnd.docker.image.rootfs.diff.tar",
  "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
  "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
]);

/** tar entry types that node-tar does not create, and their mknod type letters. */
const SPECIAL: Record<string, string | undefined> = {
  FIFO: "p",
};
/** tar entry types whose mode is set after extraction, whatever the process umask. */
const MODED = new Set(["File", "OldFile", "ContiguousFile", "Directory"]);
/** tar entry types never unpacked (see the header). */
const DEVICES = new Set(["CharacterDevice", "BlockDevice"]);

interface Special {
  path: string;
  type: string;
  major: number;
  minor: number;
  mode: number;
  owner: string;
}

/** Six arguments a file: path, type, major, minor, octal mode, uid:gid. */
const MAKE_SPECIALS = [
  "while [ $# -gt 0 ]; do",
  '  p="./$1"; rm -rf -- "$p"',
  '  if [ "$2" = p ]; then mknod -- "$p" p; else mknod -- "$p" "$2" "$3" "$4"; fi || exit 1',
  '  chmod "$5" -- "$p" && chown "$6" -- "$p" || exit 1',
  "  shift 6",
  "done",
].join("\n");

function specialArgs(s: Special): string[] {
  return [s.path, s.type, String(s.major), String(s.minor), s.mode.toString(8), s.owner];
}

/** True when no directory on the way to `path` (inside `root`) is a symbolic link. */
function realParents(root: string, path: string): boolean {
  let dir = root;
  for (const part of dirname(path)
    .split("/")
    .filter((p) => p && p !== ".")) {
    dir = join(dir, part);
    const stat = lstatSync(dir, { throwIfNoEntry: false });
    if (stat === undefined) return true;
    if (!stat.isDirectory()) return false;
  }
  return true;
}

/**
 * Makes the directories above `path` (inside `root`) that the layer did not list, 0755 as
 * node-tar makes them, whatever the process umask (Berth's is 077).
 */
function makeParents(root: string, path: string): void {
  let dir = root;
  for (const part of dirname(path)
    .split("/")
    .filter((p) => p && p !== ".")) {
    dir = join(dir, part);
    if (lstatSync(dir, { throwIfNoEntry: false }) !== undefined) continue;
    mkdirSync(dir);
    chmodSync(dir, 0o755);
  }
}

/** A layer path made relative, or undefined when it would leave the layer's directory. */
function inside(path: string): string | undefined {
  const normal = posix.normalize(path.replace(/^\/+/, ""));
  if (normal === ".." || normal.startsWith("../")) return undefined;
  return normal === "." ? "" : normal;
}

export async function unpackLayer(
  blobPath: string,
  snapshotDir: string,
  mediaType: string,
): Promise<void> {
  if (!LAYER_MEDIA_TYPES.has(mediaType))
    throw new BerthError(
      "UnsupportedLayer",
      `layers of media type ${mediaType} are not supported (gzip and plain tar are)`,
    );
  const temp = `${snapshotDir}.unpacking`;
  rmSync(temp, { recursive: true, force: true });
  mkdirSync(temp, { recursive: true });
  const whiteouts: string[] = [];
  const opaque: string[] = [];
  const symlinks: { path: string; target: string; uid?: number; gid?: number }[] = [];
  const specials: Special[] = [];
  const modes = new Map<string, number>();
  let escaping: string | undefined;
  // Paths node-tar never sees (filtered out) are checked here; a throw inside the filter
  // would escape the extract promise.
  const check = (path: string): string => {
    const safe = inside(path);
    if (safe === undefined) escaping ??= path;
    return safe ?? "";
  };
  try {
    await unpackStream(blobPath, {
      cwd: temp,
      preserveOwner: true,
      // node-tar creates with the layer's modes, which the process umask narrows (Berth's is
      // 077): they are set again below.
      chmod: true,
      processUmask: 0,
      filter: (path, entry) => {
        const name = path.split("/").pop() ?? "";
        const parent = dirname(path);
        if (name === OPAQUE) {
          opaque.push(check(parent));
          return false;
        }
        if (name.startsWith(WHITEOUT_PREFIX)) {
          whiteouts.push(check(join(parent, name.slice(WHITEOUT_PREFIX.length))));
          return false;
        }
        if ("type" in entry && DEVICES.has(entry.type)) {
          check(path);
          return false;
        }
        // Symlinks are made below, verbatim: node-tar would strip a leading / from the
        // target (changing what it points at inside the container) and drop targets with ..
        // node-tar skips device nodes and FIFOs: they are made below with the whiteouts.
        if ("type" in entry && SPECIAL[entry.type] !== undefined) {
          const header = "header" in entry ? entry.header : undefined;
          specials.push({
            path: check(path),
            type: SPECIAL[entry.type] ?? "p",
            // Read from POSIX (ustar/pax) headers, as Go's archive/tar writes image layers.
            major: header?.devmaj ?? 0,
            minor: header?.devmin ?? 0,
            mode: (entry.mode ?? 0o600) & 0o7777,
            owner: `${entry.uid ?? 0}:${entry.gid ?? 0}`,
          });
          return false;
        }
        if ("type" in entry && MODED.has(entry.type) && entry.mode !== undefined)
          modes.set(check(path), entry.mode & 0o7777);
        if ("type" in entry && entry.type === "SymbolicLink") {
          symlinks.push({
            path: check(path),
            target: String(entry.linkpath ?? ""),
            uid: entry.uid,
            gid: entry.gid,
          });
          return false;
        }
        return true;
      },
    });
    if (escaping !== undefined) {
      throw new BerthError(
        "LayerUnpackFailed",
        `layer entry ${JSON.stringify(escaping)} escapes the layer`,
      );
    }
    // After node-tar's chowns, which would clear a setuid bit set before them.
    for (const [path, mode] of modes) {
      try {
        chmodSync(join(temp, path), mode);
      } catch {
        // An entry node-tar did not make (a later entry replaced it): nothing to set.
      }
    }
    // Whiteouts are 0:0 character devices. One process makes every special file of the layer.
    for (const path of whiteouts) {
      specials.push({ path, type: "c", major: 0, minor: 0, mode: 0, owner: "0:0" });
    }
    if (specials.length > 0) {
      for (const special of specials) makeParents(temp, special.path);
      await run("sh", ["-c", MAKE_SPECIALS, "sh", ...specials.flatMap(specialArgs)], { cwd: temp });
    }
    if (opaque.length > 0) {
      for (const path of opaque) makeParents(temp, join(path, "x"));
      const dirs = opaque.map((path) => path || ".");
      await run("setfattr", ["-n", "trusted.overlay.opaque", "-v", "y", "--", ...dirs], {
        cwd: temp,
      });
    }
    // Symlinks last, and never through another link: what follows must not leave the layer.
    for (const link of symlinks) {
      if (!realParents(temp, link.path)) continue;
      const target = join(temp, link.path);
      makeParents(temp, link.path);
      // A directory the layer filled through this link stays a directory (tar would say so).
      if (lstatSync(target, { throwIfNoEntry: false })?.isDirectory()) continue;
      rmSync(target, { force: true });
      symlinkSync(link.target, target);
      if (link.uid !== undefined && link.gid !== undefined) lchownSync(target, link.uid, link.gid);
    }
    rmSync(snapshotDir, { recursive: true, force: true });
    renameSync(temp, snapshotDir);
  } catch (error) {
    rmSync(temp, { recursive: true, force: true });
    if (error instanceof BerthError) throw error;
    throw new BerthError(
      "LayerUnpackFailed",
      `unpacking a layer failed: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

const MiB = 1024 * 1024;

/**
 * node-tar's extract of a layer file, with a gzip layer inflated by Node's zlib on the thread
 * pool in 1 MiB pieces. Given the file, node-tar inflates on the event loop in 16 KiB pieces and
 * writes each file in 16 KiB writes: for a 10 MiB layer, about 640 inflate calls and 640 writes
 * on the event loop; here, 10 of each, and the inflating beside it on the other core.
 */
async function unpackStream(blobPath: string, options: TarOptions): Promise<void> {
  const unpack = extract(options);
  const source = createReadStream(blobPath, { highWaterMark: MiB });
  const gunzip = (await isGzip(blobPath)) ? createGunzip({ chunkSize: MiB }) : undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      unpack.on("error", reject);
      unpack.on("close", () => resolve());
      source.on("error", reject);
      gunzip?.on("error", reject);
      (gunzip === undefined ? source : source.pipe(gunzip)).pipe(unpack);
    });
  } finally {
    source.destroy();
    gunzip?.destroy();
  }
}

/** Whether the file starts as gzip does (node-tar's own test: its two magic bytes). */
async function isGzip(path: string): Promise<boolean> {
  const handle = await open(path, "r");
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(2), 0, 2, 0);
    return bytesRead === 2 && buffer[0] === 0x1f && buffer[1] === 0x8b;
  } finally {
    await handle.close();
  }
}
