/**
 * Parked Fetch requests (the "fetch purgatory"): a fetch that found fewer than minBytes waits
 * until one of its partitions is appended to, or its maxWaitMs elapses. Bounded: past
 * `maxWaiters` a fetch is answered at once with what it has.
 *
 * No lost wakeups: a fetch reads, then parks, and an append can land in between (the read awaits). So a fetch takes a
 * `sequence()` before it reads and passes it to `wait`, which returns at once if one of its partitions was notified
 * since (Kafka's purgatory tries again after it starts watching, for the same reason). Without this, a follower could
 * sit out replica.fetch.wait.max.ms with records waiting, and an acks=-1 produce with it.
 */
import type { Timer } from '@tributary/common';

interface Waiter {
  keys: string[];
  wake: () => void;
}

/** Partitions whose last notification is remembered at most; past it the memory restarts (see #floor). */
const NOTIFIED_KEYS_MAX = 100_000;

export class FetchWaiters {
  readonly #byKey = new Map<string, Set<Waiter>>();
  readonly #timer: Timer;
  readonly #maxWaiters: number;
  #count = 0;
  /** Counts notifications; `#notifiedAt` holds each partition's last. */
  #sequence = 0;
  readonly #notifiedAt = new Map<string, number>();
  /** Notifications at or below this were forgotten: a wait from before it returns at once (a harmless extra read). */
  #floor = 0;

  constructor(timer: Timer, maxWaiters = 10_000) {
    this.#timer = timer;
    this.#maxWaiters = maxWaiters;
  }

  get size(): number {
    return this.#count;
  }

  /** Take before reading; pass to `wait`. */
  sequence(): number {
    return this.#sequence;
  }

  /**
   * Resolves true when woken by an append (or when one of `keys` was notified after `since`, at once), false on
   * timeout or when the bound is reached.
   */
  wait(keys: string[], timeoutMs: number, abort?: AbortSignal, since?: number): Promise<boolean> {
    if (this.#count >= this.#maxWaiters || timeoutMs <= 0 || keys.length === 0) return Promise.resolve(false);
    if (since !== undefined && this.#notifiedSince(keys, since)) return Promise.resolve(true);
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

  #notifiedSince(keys: readonly string[], since: number): boolean {
    if (since < this.#floor) return true;
    for (const k of keys) if ((this.#notifiedAt.get(k) ?? 0) > since) return true;
    return false;
  }

  /** Wakes every fetch waiting on this partition. */
  notify(key: string): void {
    this.#sequence++;
    if (!this.#notifiedAt.has(key) && this.#notifiedAt.size >= NOTIFIED_KEYS_MAX) {
      this.#notifiedAt.clear();
      this.#floor = this.#sequence;
    }
    this.#notifiedAt.set(key, this.#sequence);
    const set = this.#byKey.get(key);
    if (!set) return;
    for (const w of [...set]) w.wake();
  }
}
