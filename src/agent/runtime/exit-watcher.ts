/**
 * Tells waiters when a container's exit file appears. conmon writes each exit file into one
 * directory (atomically, by rename), so one inotify watch covers every container; a slow poll
 * backs it up for events inotify can drop.
 */
import { watch, type FSWatcher } from "node:fs";

export class ExitWatcher {
  private readonly waiters = new Map<string, Set<() => void>>();
  private watcher: FSWatcher | undefined;
  private poll: NodeJS.Timeout | undefined;

  constructor(
    private readonly dir: string,
    private readonly hasExited: (id: string) => Promise<boolean>,
  ) {}

  /** Resolves once `hasExited(id)` is true; checks at once, then on every change. */
  async wait(id: string, signal?: AbortSignal): Promise<void> {
    if (await this.hasExited(id)) return;
    // The signal may have fired during that check (a loaded host takes longer than a short stop
    // timeout): its abort event is gone then, and a listener added now would wait for ever.
    if (signal?.aborted === true) throw abortReason(signal);
    await new Promise<void>((resolve, reject) => {
      const set = this.waiters.get(id) ?? new Set();
      const wake = (): void => {
        void this.hasExited(id).then((exited) => {
          if (!exited) return;
          cleanup();
          resolve();
        }, reject);
      };
      const onAbort = (): void => {
        cleanup();
        reject(abortReason(signal));
      };
      const cleanup = (): void => {
        set.delete(wake);
        if (set.size === 0) this.waiters.delete(id);
        signal?.removeEventListener("abort", onAbort);
        this.sync();
      };
      set.add(wake);
      this.waiters.set(id, set);
      signal?.addEventListener("abort", onAbort);
      this.sync();
      // The exit may have landed between the first check and the watch.
      wake();
    });
  }

  private sync(): void {
    if (this.waiters.size > 0 && !this.watcher) {
      this.watcher = watch(this.dir, (_event, name) => {
        if (name) this.notify(name.toString());
      });
      this.watcher.on("error", () => undefined);
      this.poll = setInterval(() => {
        for (const id of this.waiters.keys()) this.notify(id);
      }, 1000);
      this.poll.unref();
    } else if (this.waiters.size === 0 && this.watcher) {
      this.close();
    }
  }

  private notify(id: string): void {
    for (const wake of this.waiters.get(id) ?? []) wake();
  }

  close(): void {
    this.watcher?.close();
    this.watcher = undefined;
    if (this.poll) clearInterval(this.poll);
    this.poll = undefined;
  }
}

function abortReason(signal: AbortSignal | undefined): Error {
  return signal?.reason instanceof Error ? signal.reason : new Error("aborted");
}
