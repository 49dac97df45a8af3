/**
 * A readers-writer lock: pushes (manifest writes, mounts) share it; garbage collection's sweep
 * takes it alone, so GC never deletes a blob between a push's existence check and its commit.
 * One process owns a data directory, so an in-process lock is enough.
 */
export class ReadWriteLock {
  #readers = 0;
  #writer = false;
  #waiting: Array<() => void> = [];

  async #acquire(exclusive: boolean): Promise<void> {
    while (this.#writer || (exclusive && this.#readers > 0)) {
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    }
    if (exclusive) this.#writer = true;
    else this.#readers += 1;
  }

  #release(exclusive: boolean): void {
    if (exclusive) this.#writer = false;
    else this.#readers -= 1;
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const wake of waiting) wake();
  }

  async shared<T>(work: () => Promise<T>): Promise<T> {
    await this.#acquire(false);
    try {
      return await work();
    } finally {
      this.#release(false);
    }
  }

  async exclusive<T>(work: () => Promise<T>): Promise<T> {
    await this.#acquire(true);
    try {
      return await work();
    } finally {
      this.#release(true);
    }
  }
}
