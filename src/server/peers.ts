/**
 * The servers that share one store know each other's registries. Each records the host:port
 * its registry is reached at (image URIs name it) and refreshes the record while it runs; a
 * task placed by any server then carries registry credentials for every live server's registry,
 * so its host can pull an image pushed through another server. Only hosts in these records get
 * credentials: an image on any other registry never sees Berth's.
 */
import type { Logger } from "../core/index.js";
import type { Notifier, Store } from "../store/index.js";

const REFRESH_MS = 10_000;
const TOPIC = "berth_servers";
/** A server not heard of for this long is no longer offered credentials for. */
const FORGET_MS = 5 * 60_000;

export class Peers {
  #registries: string[] = [];
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly options: {
      store: Store;
      /** A server that starts tells the others, who read the list again at once. */
      notifier: Notifier;
      serverId: string;
      now: () => number;
      log: Logger;
    },
  ) {}

  /** Records this server and starts refreshing; `registryHost` is known once it listens. */
  async start(endpoint: string, registryHost: string): Promise<void> {
    const refresh = async (): Promise<void> => {
      const { store, serverId, now } = this.options;
      const row = { endpoint, registry_host: registryHost, seen_at: now() };
      await store
        .insertInto("servers")
        .values({ id: serverId, ...row })
        .onConflict((oc) => oc.column("id").doUpdateSet(row))
        .execute();
      const live = await store
        .selectFrom("servers")
        .select("registry_host")
        .where("seen_at", ">", now() - FORGET_MS)
        .execute();
      this.#registries = [...new Set([registryHost, ...live.map((r) => r.registry_host)])];
    };
    this.#registries = [registryHost];
    await refresh();
    const again = (): void => {
      refresh().catch((error: unknown) =>
        this.options.log.warn("refreshing the server list failed", { error: String(error) }),
      );
    };
    this.options.notifier.subscribe(TOPIC, (id) => {
      if (id !== this.options.serverId) again();
    });
    await this.options.notifier.publish(TOPIC, this.options.serverId);
    this.#timer = setInterval(again, REFRESH_MS);
    this.#timer.unref();
  }

  /** Every live server's registry host, this one's first. */
  registries(): string[] {
    return this.#registries;
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
