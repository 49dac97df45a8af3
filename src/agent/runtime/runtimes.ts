/**
 * The runtimes Berth offers behind ContainerRuntime: runc (namespaces and cgroups, the
 * default) and runsc (gVisor: a user-space kernel per task, `--platform=ptrace` since this host
 * has no KVM). Both run under conmon with the same bundles; a host runtime offers both and each
 * task's sandbox picks one.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CliOciRuntime, RuncCli, type OciRuntimeCli } from "./oci-cli.js";
import { OciContainerRuntime, type OciRuntimeOptions } from "./oci-runtime.js";
import type { ContainerRuntime } from "./types.js";

export type RuntimeOptions = OciRuntimeOptions;

/** The wrapper every runsc call goes through; see the script for why. */
const RUNSC_WRAPPER = fileURLToPath(new URL("../../../libexec/berth-runsc", import.meta.url));
/** The wrapper every runc call goes through: runc under umask 022 (see the script). */
const RUNC_WRAPPER = fileURLToPath(new URL("../../../libexec/berth-runc", import.meta.url));

/**
 * runsc, with its own network stack inside the task's network namespace (`--network=sandbox`:
 * it takes over the namespace's interfaces and addresses, so the task keeps the IP the task
 * network gave it; not `--network=host`, which hands every socket call of the task to the host
 * kernel), and one sandbox per task (`podSandbox`), so that a task's containers
 * share localhost as they do under runc. Every call goes through libexec/berth-runsc.
 */
export class RunscCli extends CliOciRuntime implements OciRuntimeCli {
  readonly podSandbox = true;

  constructor(
    private readonly runsc: string,
    root: string,
    private readonly runscArgs: string[],
  ) {
    super(RUNSC_WRAPPER, root);
  }

  override get globalArgs(): string[] {
    return [this.runsc, `--root=${this.root}`, ...this.runscArgs];
  }
}

const runcCli = (runDir: string): OciRuntimeCli =>
  new RuncCli(RUNC_WRAPPER, "/usr/sbin/runc", join(runDir, "runc"));

// gVisor's platform: ptrace works everywhere (this host's KVM platform hangs).
const runscCli = (runDir: string): OciRuntimeCli =>
  new RunscCli("/usr/bin/runsc", join(runDir, "runsc"), ["--platform=ptrace", "--network=sandbox"]);

export function createRuncRuntime(options: RuntimeOptions): ContainerRuntime {
  return new OciContainerRuntime("runc", { runc: runcCli }, options);
}

export function createRunscRuntime(options: RuntimeOptions): ContainerRuntime {
  return new OciContainerRuntime("runsc", { runsc: runscCli }, options);
}

/** A host's runtime: runc by default, runsc for the tasks that ask for it. */
export function createHostRuntime(options: RuntimeOptions): ContainerRuntime {
  return new OciContainerRuntime("runc", { runc: runcCli, runsc: runscCli }, options);
}
