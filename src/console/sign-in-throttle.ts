/**
 * Guessing a secret through the sign-in form is slowed down: after a few wrong secrets from one
 * address within a window, that address is refused until the window passes (AWS's console
 * throttles and adds CAPTCHAs). Kept in memory, per server; a bounded number of addresses.
 */
export const MAX_FAILURES = 5;
export const WINDOW_MS = 60_000;
const MAX_ADDRESSES = 10_000;

export class SignInThrottle {
  readonly #failures = new Map<string, { count: number; since: number }>();

  constructor(private readonly now: () => number) {}

  /** Milliseconds until `address` may try again; 0 when it may now. */
  retryAfter(address: string): number {
    const entry = this.#failures.get(address);
    if (entry === undefined) return 0;
    const left = entry.since + WINDOW_MS - this.now();
    if (left <= 0) {
      this.#failures.delete(address);
      return 0;
    }
    return entry.count >= MAX_FAILURES ? left : 0;
  }

  failed(address: string): void {
    const now = this.now();
    const entry = this.#failures.get(address);
    if (entry === undefined || entry.since + WINDOW_MS <= now) {
      if (this.#failures.size >= MAX_ADDRESSES) {
        const oldest = this.#failures.keys().next().value;
        if (oldest !== undefined) this.#failures.delete(oldest);
      }
      this.#failures.set(address, { count: 1, since: now });
    } else entry.count++;
  }

  succeeded(address: string): void {
    this.#failures.delete(address);
  }
}
