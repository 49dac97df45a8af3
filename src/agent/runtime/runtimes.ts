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

export interface RuntimeBinaries {
  runcBinary?: string;
  runscBinary?: string;
  /** gVisor's platform; ptrace works everywhere (this host's KVM platform hangs). */
  platform?: string;
}

/** The wrapper every runsc call goes through; see the script for why. */
const RUNSC_WRAPPER = fileURLToPath(new URL("../../../libexec/berth-runsc", import.meta.url));
/** The wrapper every runc call goes through: runc under umask 022 (see the script). */
const RUNC_WRAPPER = fileURLToPath(new URL("../../../libexec/berth-runc", import.meta.url));

/**
 * runsc, with its own network stack inside the task's network namespace (`--network=sandbox`:
 * it takes over the namespace's interfaces and addresses, so the task keeps the IP the CNI
 * plugins gave it; not `--network=host`, which hands every socket call of the task to the host
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

function runcCli(options: RuntimeBinaries): (runDir: string) => OciRuntimeCli {
  const binary = options.runcBinary ?? "/usr/sbin/runc";
  return (runDir) => new RuncCli(RUNC_WRAPPER, binary, join(runDir, "runc"));
}

function runscCli(options: RuntimeBinaries): (runDir: string) => OciRuntimeCli {
  const binary = options.runscBinary ?? "/usr/bin/runsc";
  const platform = options.platform ?? "ptrace";
  return (runDir) =>
    new RunscCli(binary, join(runDir, "runsc"), [`--platform=${platform}`, "--network=sandbox"]);
}

export function createRuncRuntime(options: RuntimeOptions & RuntimeBinaries): ContainerRuntime {
  return new OciContainerRuntime("runc", { runc: runcCli(options) }, options);
}

export function createRunscRuntime(options: RuntimeOptions & RuntimeBinaries): ContainerRuntime {
  return new OciContainerRuntime("runsc", { runsc: runscCli(options) }, options);
}

/** A host's runtime: runc by default, runsc for the tasks that ask for it. */
export function createHostRuntime(options: RuntimeOptions & RuntimeBinaries): ContainerRuntime {
  return new OciContainerRuntime(
    "runc",
    { runc: runcCli(options), runsc: runscCli(options) },
    options,
  );
}
