/**
 * Tags of Berth's own registry pinned to their digest as a task is dispatched: the registry is
 * in this process (one store read), while the agent would ask it over HTTPS on every launch
 * only to learn that the image it already holds is still the one the tag names. The task
 * still shows the image as its definition names it; the agent pulls `REPO@DIGEST`.
 * (ECS pins a service's image tags to digests at deployment; Berth does it for every task.)
 */
import type { Logger } from "../core/index.js";
import type { TaskAssignment } from "../protocol/index.js";
import type { Registry } from "../registry/index.js";

/** `HOST/REPO[:TAG]` of one of `hosts`: the repository and tag; anything else: undefined. */
export function ownImageTag(
  image: string,
  hosts: readonly string[],
): { repository: string; tag: string } | undefined {
  const slash = image.indexOf("/");
  if (slash < 0 || !hosts.includes(image.slice(0, slash))) return undefined;
  const rest = image.slice(slash + 1);
  if (rest.includes("@")) return undefined; // already a digest
  const colon = rest.lastIndexOf(":");
  return colon > rest.lastIndexOf("/")
    ? { repository: rest.slice(0, colon), tag: rest.slice(colon + 1) }
    : { repository: rest, tag: "latest" };
}

/** The assignment with each own-registry image's digest; an unknown tag is left to the agent. */
export async function pinImages(
  assignment: TaskAssignment,
  registry: Pick<Registry, "resolve">,
  hosts: readonly string[],
  log: Logger,
): Promise<TaskAssignment> {
  const containers = await Promise.all(
    assignment.containers.map(async (container) => {
      const named = ownImageTag(container.image, hosts);
      if (named === undefined || container.imageDigest !== undefined) return container;
      try {
        const imageDigest = await registry.resolve(named.repository, named.tag);
        return { ...container, imageDigest };
      } catch (error) {
        // The agent's pull then says what is wrong, as it would have.
        log.debug("image tag not pinned", { image: container.image, error: String(error) });
        return container;
      }
    }),
  );
  return { ...assignment, containers };
}
