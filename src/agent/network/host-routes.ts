/**
 * The server's host's routes to task subnets on other hosts: each remote host's subnet via that
 * host's datacenter address, so that the load balancer (in the server) reaches targets and runs
 * health checks wherever a task landed; the host forwards into its bridge. Only the routes this
 * object added are ever changed or removed; `clear()` removes them all (server shutdown).
 */
import type { Logger } from "../../core/index.js";
import { runCommand } from "../runtime/index.js";

export interface SubnetRoute {
  subnet: string;
  via: string;
}

export class SubnetRoutes {
  /** subnet -> via, as installed. */
  readonly #installed = new Map<string, string>();
  readonly #failed = new Set<string>();

  constructor(private readonly log: Logger) {}

  async sync(routes: SubnetRoute[]): Promise<void> {
    // Nothing to route and nothing installed (every host on this machine, as hollow hosts are):
    // no `ip` to run. Passes come after placements; a spawn each was 7% of a loaded server.
    if (routes.length === 0 && this.#installed.size === 0) return;
    const local = await localAddresses();
    const wanted = new Map(
      routes.filter((r) => !local.has(r.via)).map((r) => [r.subnet, r.via] as const),
    );
    for (const [subnet, via] of this.#installed) {
      if (wanted.get(subnet) === via) continue;
      await runCommand("ip", ["route", "del", subnet, "via", via], { allowFailure: true });
      this.#installed.delete(subnet);
    }
    for (const [subnet, via] of wanted) {
      if (this.#installed.get(subnet) === via) continue;
      const { code, stderr } = await runCommand("ip", ["route", "replace", subnet, "via", via], {
        allowFailure: true,
      });
      if (code === 0) {
        this.#installed.set(subnet, via);
        this.#failed.delete(subnet);
      } else if (!this.#failed.has(subnet)) {
        // Said once: a host whose address is not on a link of this machine cannot be routed to.
        this.#failed.add(subnet);
        this.log.warn("no route to a host's task subnet", { subnet, via, error: stderr.trim() });
      }
    }
  }

  async clear(): Promise<void> {
    await this.sync([]);
  }
}

async function localAddresses(): Promise<Set<string>> {
  const { stdout } = await runCommand("ip", ["-o", "-4", "addr", "show"], { allowFailure: true });
  return new Set([...stdout.matchAll(/\binet (\d+\.\d+\.\d+\.\d+)\//g)].map((m) => m[1] ?? ""));
}
