/**
 * ECS's dependsOn rules (pure): whether a container may start now given its dependencies'
 * states (START, COMPLETE, SUCCESS, HEALTHY), and the order in which a task's containers stop
 * (dependents before what they depend on).
 */
import type { ContainerAssignment, ContainerState } from "../../protocol/index.js";

/** "ready", "wait", or why the container can never start. */
export function dependencyVerdict(
  container: Pick<ContainerAssignment, "name" | "dependsOn">,
  stateOf: (name: string) => ContainerState,
): string {
  for (const dependency of container.dependsOn) {
    const target = stateOf(dependency.containerName);
    switch (dependency.condition) {
      case "START":
        if (target.lastStatus === "PENDING") return "wait";
        break;
      case "HEALTHY":
        if (target.healthStatus !== "HEALTHY") {
          if (target.lastStatus === "STOPPED")
            return `dependency container ${target.name} stopped before it was healthy`;
          return "wait";
        }
        break;
      case "COMPLETE":
        if (target.lastStatus !== "STOPPED") return "wait";
        break;
      case "SUCCESS":
        if (target.lastStatus !== "STOPPED") return "wait";
        if (target.exitCode !== 0)
          return `dependency container ${target.name} exited with code ${String(target.exitCode)}; ${container.name} needs SUCCESS`;
        break;
    }
  }
  return "ready";
}

/** Containers ordered so that each comes after everything it depends on. */
export function dependencyOrder<C extends Pick<ContainerAssignment, "name" | "dependsOn">>(
  containers: C[],
): C[] {
  const byName = new Map(containers.map((c) => [c.name, c]));
  const ordered: C[] = [];
  const seen = new Set<string>();
  const visit = (container: C): void => {
    if (seen.has(container.name)) return;
    seen.add(container.name);
    for (const dependency of container.dependsOn) {
      const target = byName.get(dependency.containerName);
      if (target !== undefined) visit(target);
    }
    ordered.push(container);
  };
  containers.forEach(visit);
  return ordered;
}
