/**
 * The runtimes Berth offers behind ContainerRuntime: runc (namespaces and cgroups, the
 * default) and runsc (gVisor: a user-space kernel per container, `--platform=ptrace` since
 * this host has no KVM). Both run under conmon with the same bundles.
 */
import { join } from "node:path";
import { CliOciRuntime, RuncCli } from "./oci-cli.js";
import { OciContainerRuntime, type OciRuntimeOptions } from "./oci-runtime.js";
import type { ContainerRuntime } from "./types.js";

export type RuntimeOptions = OciRuntimeOptions;

export function createRuncRuntime(
  options: RuntimeOptions & { runcBinary?: string },
): ContainerRuntime {
  const binary = options.runcBinary ?? "/usr/sbin/runc";
  return new OciContainerRuntime(
    "runc",
    (runDir) => new RuncCli(binary, join(runDir, "runc")),
    options,
  );
}

export function createRunscRuntime(
  options: RuntimeOptions & { runscBinary?: string; platform?: string },
): ContainerRuntime {
  const binary = options.runscBinary ?? "/usr/bin/runsc";
  const platform = options.platform ?? "ptrace";
  return new OciContainerRuntime(
    "runsc",
    // --network=none: gVisor's own loopback. runsc 2022 refuses the bind-mounted namespace
    // ("root network namespace"), so a task's runsc containers do not share loopback yet.
    (runDir) =>
      new CliOciRuntime(binary, join(runDir, "runsc"), [
        `--platform=${platform}`,
        "--network=none",
      ]),
    options,
  );
}
