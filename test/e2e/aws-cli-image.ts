/**
 * An image holding the machine's own AWS CLI v2 (Debian's awscli: /usr/bin/aws, a python3
 * program with botocore inside it) and no more of it than an `aws ecs` call loads, so a task
 * can call Berth with the real CLI without a network to fetch an image from.
 *
 * What goes in is traced, not listed: the host's CLI runs the calls given against a Berth under
 * an audit hook, and the image gets every module it imported (as the host's compiled .pyc put
 * where its source was, which Python loads without the source), every data file it opened, the
 * interpreter and the shared libraries they link or dlopen (ldd, /proc/self/maps), and busybox.
 * For `aws ecs list-tasks` that is some 920 files, 41 MB, a 17 MB layer (awscli alone is 116 MB).
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { pushBusyboxImage, type BerthProcess, type PushedImage } from "../../src/testing/index.js";

export const AWS_CLI = "/usr/bin/aws";
const DIST_PACKAGES = "/usr/lib/python3/dist-packages";
const CLI_PACKAGE = `${DIST_PACKAGES}/awscli`;

/**
 * Runs the host's CLI in-process for each argument list and prints, as JSON, the exit codes and
 * image path -> host path of everything it used. `-S` keeps out whatever the host's .pth files
 * import; the path line is what Debian's site.py adds (the image holds no .pth files).
 */
const TRACER = String.raw`
import importlib.util, json, os, re, subprocess, sys
sys.path.append("${DIST_PACKAGES}")
opened = set()
def hook(event, args):
    if event == "open" and isinstance(args[0], str):
        opened.add(os.path.abspath(args[0]))
sys.addaudithook(hook)
calls = json.loads(sys.argv[1])
sys.argv = ["${AWS_CLI}"]
real_stdout = sys.stdout
sys.stdout = open(os.devnull, "w")
import awscli.clidriver
codes = [awscli.clidriver.create_clidriver().main(args) for args in calls]
files = {"usr/bin/python3": os.path.realpath(sys.executable), "${AWS_CLI.slice(1)}": "${AWS_CLI}"}
for module in list(sys.modules.values()):
    path = getattr(module, "__file__", None) or ""
    if path.endswith(".py"):
        cached = importlib.util.cache_from_source(path)
        if os.path.isfile(cached): files[path[1:] + "c"] = cached
        else: files[path[1:]] = path
    elif path.endswith(".so"):
        files[path[1:]] = path
for path in opened:
    if path.startswith(("${CLI_PACKAGE}/data/", "${CLI_PACKAGE}/botocore/data/")) and os.path.isfile(path):
        files[path[1:]] = path
linked = set()
for binary in [sys.executable] + [p for p in files.values() if p.endswith(".so")]:
    for line in subprocess.run(["ldd", binary], capture_output=True, text=True).stdout.splitlines():
        found = re.search(r"(/\S+) \(0x", line)
        if found:
            files[found.group(1)[1:]] = found.group(1)
            linked.add(os.path.realpath(found.group(1)))
# Libraries loaded by path at run time (OpenSSL's legacy provider, which cryptography loads).
for line in open("/proc/self/maps"):
    path = line.split(None, 5)[5].strip() if len(line.split(None, 5)) == 6 else ""
    if ".so" in path and os.path.isfile(path) and os.path.realpath(path) not in linked and path[1:] not in files:
        files[path[1:]] = path
print(json.dumps({"codes": codes, "files": files}), file=real_stdout)
`;

/** Every file under a host directory, as image path -> host path. */
function tree(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) Object.assign(files, tree(path));
    else if (entry.isFile()) files[path.slice(1)] = path;
  }
  return files;
}

/** A service's model files (service-2.json of each API version), as image path -> host path. */
function serviceModel(service: string): Record<string, string> {
  const dir = `${CLI_PACKAGE}/botocore/data/${service}`;
  const files: Record<string, string> = {};
  for (const version of readdirSync(dir)) {
    const path = join(dir, version, "service-2.json");
    files[path.slice(1)] = path;
  }
  return files;
}

/**
 * Traces `calls` (argument lists of `aws`, run on the host with Berth's root key; give one that
 * succeeds and one that fails, so both paths are loaded) and pushes the image as `repository`.
 */
export async function pushAwsCliImage(
  berth: BerthProcess,
  repository: string,
  calls: string[][],
): Promise<PushedImage> {
  const traced = JSON.parse(
    execFileSync("/usr/bin/python3", ["-S", "-c", TRACER, JSON.stringify(calls)], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      maxBuffer: 16 * 1024 * 1024,
      env: {
        PATH: "/usr/bin:/bin",
        AWS_ACCESS_KEY_ID: berth.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: berth.credentials.secretAccessKey,
        AWS_DEFAULT_REGION: "us-east-1",
        AWS_CONFIG_FILE: "/nonexistent",
        AWS_SHARED_CREDENTIALS_FILE: "/nonexistent",
      },
    }),
  ) as { codes: number[]; files: Record<string, string> };
  assert.ok(traced.codes.includes(0), `the host's CLI failed every call: ${traced.codes.join()}`);
  const hostFiles: Record<string, string> = {
    ...traced.files,
    // Read by no `aws ecs` call, but the CLI lists its wizards' folder whatever it runs, and
    // the customizations that build its command table rename these services' commands
    // (s3 -> s3api ...), which must then be in it: only their existence is checked.
    ...tree(`${CLI_PACKAGE}/customizations/wizard/wizards`),
  };
  for (const service of ["s3", "codedeploy", "config", "opsworkscm"])
    Object.assign(hostFiles, serviceModel(service));
  return pushBusyboxImage(berth, repository, {
    hostFiles,
    applets: ["sh", "sleep", "wget", "cat", "env", "echo"],
    createdBy: "berth tests: the host's AWS CLI v2 and what it loads",
  });
}
