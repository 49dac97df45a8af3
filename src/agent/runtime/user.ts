/**
 * Resolves a container's `user` (`uid`, `uid:gid`, `name`, `name:group`) against the
 * container's own /etc/passwd and /etc/group, as Docker does: a numeric uid needs no entry,
 * a name must exist; the primary group comes from passwd unless given; supplementary groups
 * are the groups that list the user. The files are read inside the rootfs only: an image's
 * `/etc/passwd` that is a symlink is followed as the container would, never onto the host.
 */
import { BerthError } from "../../core/index.js";
import { RuntimeErrorCode } from "./errors.js";
import { readInRoot } from "./rootfs-path.js";

export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids: number[];
  home: string;
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

async function readLines(rootfs: string, file: string): Promise<string[][]> {
  const text = (await readInRoot(rootfs, file)) ?? "";
  return text
    .split("\n")
    .filter((line) => line && !line.startsWith("#"))
    .map((line) => line.split(":"));
}

const isNumeric = (value: string): boolean => /^\d+$/.test(value);

function notFound(message: string): BerthError {
  return new BerthError(RuntimeErrorCode.UserNotFound, message);
}

export async function resolveUser(rootfs: string, user: string | undefined): Promise<ResolvedUser> {
  const passwd: PasswdEntry[] = (await readLines(rootfs, "/etc/passwd")).map((f) => ({
    name: f[0] ?? "",
    uid: Number(f[2]),
    gid: Number(f[3]),
    home: f[5] || "/",
  }));
  const groups: GroupEntry[] = (await readLines(rootfs, "/etc/group")).map((f) => ({
    name: f[0] ?? "",
    gid: Number(f[2]),
    members: (f[3] ?? "").split(",").filter(Boolean),
  }));
  const [userPart = "", groupPart] = (user ?? "").split(":", 2);
  const wanted = userPart === "" ? "0" : userPart;

  let entry: PasswdEntry | undefined;
  let uid: number;
  if (isNumeric(wanted)) {
    uid = Number(wanted);
    entry = passwd.find((p) => p.uid === uid);
  } else {
    entry = passwd.find((p) => p.name === wanted);
    if (!entry) throw notFound(`unable to find user ${wanted}: no matching entries in passwd file`);
    uid = entry.uid;
  }

  let gid = entry?.gid ?? 0;
  if (groupPart !== undefined && groupPart !== "") {
    if (isNumeric(groupPart)) gid = Number(groupPart);
    else {
      const group = groups.find((g) => g.name === groupPart);
      if (!group)
        throw notFound(`unable to find group ${groupPart}: no matching entries in group file`);
      gid = group.gid;
    }
  }
  const additionalGids = entry
    ? groups.filter((g) => g.members.includes(entry.name) && g.gid !== gid).map((g) => g.gid)
    : [];
  return { uid, gid, additionalGids, home: entry?.home ?? (uid === 0 ? "/root" : "/") };
}
