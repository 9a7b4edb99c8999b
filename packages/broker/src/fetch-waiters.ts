/**
 * Parked Fetch requests (the "fetch purgatory"): a fetch that found fewer than minBytes waits
 * until one of its partitions is appended to, or its maxWaitMs elapses. Bounded: past
 * `maxWaiters` a fetch is answered at once with what it has.
 */
import type { Timer } from '@tributary/common';

interface Waiter {
  keys: string[];
  wake: () => void;
}

export class FetchWaiters {
  readonly #byKey = new Map<string, Set<Waiter>>();
  readonly #timer: Timer;
  readonly #maxWaiters: number;
  #count = 0;

  constructor(timer: Timer, maxWaiters = 10_000) {
    this.#timer = timer;
    this.#maxWaiters = maxWaiters;
  }

  get size(): number {
    return this.#count;
  }

  /** Resolves true when woken by an append, false on timeout or when the bound is reached. */
  wait(keys: string[], timeoutMs: number, abort?: AbortSignal): Promise<boolean> {
    if (this.#count >= this.#maxWaiters || timeoutMs <= 0 || keys.length === 0) return Promise.resolve(false);
    return new Promise((resolve) => {
      let done = false;
      const finish = (woken: boolean): void => {
        if (done) return;
        done = true;
        this.#count--;
        handle.cancel();
        abort?.removeEventListener('abort', onAbort);
        for (const k of keys) {
          const set = this.#byKey.get(k);
          if (set) {
            set.delete(waiter);
            if (set.size === 0) this.#byKey.delete(k);
          }
        }
        resolve(woken);
      };
      const onAbort = (): void => finish(false);
      const waiter: Waiter = { keys, wake: () => finish(true) };
      this.#count++;
      const handle = this.#timer.after(timeoutMs, () => finish(false));
      abort?.addEventListener('abort', onAbort);
      for (const k of keys) {
        let set = this.#byKey.get(k);
        if (!set) this.#byKey.set(k, (set = new Set()));
        set.add(waiter);
      }
    });
  }

  /** Wakes every fetch waiting on this partition. */
  notify(key: string): void {
    const set = this.#byKey.get(key);
    if (!set) return;
    for (const w of [...set]) w.wake();
  }
}
