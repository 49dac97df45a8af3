/**
 * Unpacking one layer (a tar, gzip-compressed or not) into its own snapshot directory, in the
 * form overlayfs reads: a `.wh.NAME` whiteout becomes a 0:0 character device NAME, and an
 * opaque directory marker (`.wh..wh..opq`) becomes the `trusted.overlay.opaque=y` xattr. The
 * snapshot is written to a temp directory and renamed into place, so a crash leaves no half
 * snapshot behind. node-tar refuses absolute paths and `..`, so a layer cannot write outside.
 */
import { execFile } from "node:child_process";
import { mkdirSync, renameSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { extract } from "tar";
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
  try {
    await extract({
      file: blobPath,
      cwd: temp,
      preserveOwner: true,
      chmod: true,
      processUmask: 0,
      filter: (path) => {
        const name = path.split("/").pop() ?? "";
        const parent = dirname(path);
        if (name === OPAQUE) {
          opaque.push(parent);
          return false;
        }
        if (name.startsWith(WHITEOUT_PREFIX)) {
          whiteouts.push(join(parent, name.slice(WHITEOUT_PREFIX.length)));
          return false;
        }
        return true;
      },
    });
    for (const path of whiteouts) {
      const target = join(temp, path);
      mkdirSync(dirname(target), { recursive: true });
      rmSync(target, { recursive: true, force: true });
      await run("mknod", [target, "c", "0", "0"]);
    }
    for (const path of opaque) {
      const target = join(temp, path);
      mkdirSync(target, { recursive: true });
      await run("setfattr", ["-n", "trusted.overlay.opaque", "-v", "y", target]);
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
