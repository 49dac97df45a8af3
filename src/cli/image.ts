/**
 * `berth image busybox DIR`: an image to try Berth with on a machine that has none and no
 * network — the machine's static busybox with every applet, written as an OCI image layout that
 * skopeo and podman read (`oci:DIR:TAG`). Nothing is fetched; the same busybox gives the same
 * digests.
 */
import { execFileSync } from "node:child_process";
import { invalidArgument } from "./errors.js";
import { existsSync, readdirSync } from "node:fs";
import { resolve } from "node:path";
import { BerthError } from "../core/index.js";
import { BUSYBOX, buildBusyboxImage } from "../agent/index.js";
import { defineCommand } from "./command.js";

/** Every applet this busybox has (`busybox --list`), but itself (the binary is /bin/busybox). */
function applets(): string[] {
  if (!existsSync(BUSYBOX))
    throw new BerthError(
      "BusyboxMissing",
      `${BUSYBOX} is not there: install Debian's busybox-static (scripts/setup.sh does)`,
    );
  return execFileSync(BUSYBOX, ["--list"], { encoding: "utf8" })
    .split("\n")
    .filter((name) => /^[\w.[\]-]+$/.test(name) && name !== "busybox");
}

export const image = defineCommand({
  name: "image",
  summary: "write an image to try Berth with: this machine's busybox, as an OCI layout",
  usage: ["berth image busybox DIR [--tag TAG]"],
  description: [
    "Writes DIR as an OCI image layout: /bin/busybox (Debian's busybox-static) and a link per",
    "applet (sh, ls, httpd, wget, ...), command sh. Push it with skopeo or podman, e.g.",
    "  skopeo copy oci:DIR:TAG docker://127.0.0.1:4566/REPO:TAG --dest-tls-verify=false ...",
    "DIR must be empty, absent, or an OCI layout (it is then replaced).",
  ].join("\n"),
  flags: {
    tag: { type: "string", value: "TAG", default: "latest", help: "the tag in the layout" },
  },
  positionals: true,
  run: async ({ flags, positionals }) => {
    const [kind, dir, ...extra] = positionals;
    if (kind !== "busybox" || dir === undefined || extra.length > 0)
      throw invalidArgument("the one kind is busybox: berth image busybox DIR");
    const target = resolve(dir);
    if (
      existsSync(target) &&
      readdirSync(target).length > 0 &&
      !existsSync(resolve(target, "oci-layout"))
    )
      throw invalidArgument(`${target} is a directory with other things in it; name a new one`);
    const built = await buildBusyboxImage({
      dir: target,
      tag: flags.tag,
      applets: applets(),
      createdBy: "berth image busybox",
    });
    const size = (built.layerSize / 1e6).toFixed(1);
    process.stdout.write(
      `oci:${dir}:${flags.tag}  ${built.manifestDigest}  (busybox, one ${size} MB layer)\n`,
    );
    return 0;
  },
});
