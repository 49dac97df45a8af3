/**
 * An in-memory image puller for unit tests of the task layer: images it knows pull at once
 * (a busybox-like config), others fail as the image store fails them (ImageNotFound); a test
 * may queue failures for a reference (each pull takes one) or hold a pull until it says.
 */
import { BerthError } from "../../../../src/core/index.js";
import type { ImagePuller, PulledImage, PullOptions } from "../../../../src/agent/tasks/ports.js";

export class FakeImagePuller implements ImagePuller {
  readonly pulls: string[] = [];
  readonly #images = new Map<string, PulledImage>();
  readonly #failures = new Map<string, Error[]>();
  readonly #holds = new Map<string, Promise<void>>();
  /** How many progress callbacks a pull makes (a real one makes one per chunk it reads). */
  progressSteps = 1;

  constructor(references: string[]) {
    for (const [i, reference] of references.entries())
      this.#images.set(reference, {
        digest: `sha256:${String(i + 1).padStart(64, "0")}`,
        config: { cmd: ["sh"], env: ["PATH=/bin"] },
      });
  }

  /** The next pulls of `reference` fail with these errors, in order. */
  failNext(reference: string, ...errors: Error[]): void {
    this.#failures.set(reference, [...(this.#failures.get(reference) ?? []), ...errors]);
  }

  /** Pulls of `reference` wait until the returned function is called. */
  hold(reference: string): () => void {
    let release = (): void => undefined;
    this.#holds.set(reference, new Promise<void>((resolve) => (release = resolve)));
    return () => release();
  }

  async pull(reference: string, options: PullOptions): Promise<PulledImage> {
    this.pulls.push(reference);
    await this.#holds.get(reference);
    const failure = this.#failures.get(reference)?.shift();
    if (failure !== undefined) throw failure;
    const image = this.#images.get(reference);
    if (image === undefined)
      throw new BerthError("ImageNotFound", `${reference}: not found in its registry`);
    for (let step = 1; step <= this.progressSteps; step++)
      options.onProgress?.((100 * step) / this.progressSteps, 100);
    return image;
  }
}
