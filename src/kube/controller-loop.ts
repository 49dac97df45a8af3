/**
 * What the kube controllers share: a level-triggered loop, one pass at a time, every
 * `intervalMs` (1 s by default) and at once when an object of one of `resources` changes.
 */
import { SerialPass, type Logger } from "../core/index.js";
import type { KubeObjects } from "./objects.js";

export abstract class ControllerLoop {
  readonly #loop: SerialPass;
  #unsubscribe: (() => void) | undefined;

  constructor(
    private readonly watched: { objects: KubeObjects; log: Logger; intervalMs?: number },
    private readonly resources: readonly string[],
    name: string,
  ) {
    this.#loop = new SerialPass(() => this.pass(), watched.log, { failed: `${name} pass failed` });
  }

  protected abstract pass(): Promise<void>;

  start(): void {
    this.#unsubscribe = this.watched.objects.subscribe((change) => {
      if (this.resources.includes(change.resource)) this.kick();
    });
    this.#loop.start(this.watched.intervalMs ?? 1000);
    this.kick();
  }

  async stop(): Promise<void> {
    this.#unsubscribe?.();
    await this.#loop.stop();
  }

  /** A pass now (or right after the one running). */
  kick(): void {
    void this.#loop.kick();
  }
}
