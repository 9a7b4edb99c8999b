import type { Timer } from '@tributary/common';
import { describe, expect, test } from 'vitest';
import { FetchWaiters } from '../src/fetch-waiters.ts';

/** A timer whose callbacks run only when the test fires them. */
function manualTimer(): Timer & { fire(): void; pending(): number } {
  const callbacks = new Set<() => void>();
  return {
    after(_ms: number, fn: () => void) {
      callbacks.add(fn);
      return { cancel: () => void callbacks.delete(fn) };
    },
    fire() {
      for (const fn of [...callbacks]) {
        callbacks.delete(fn);
        fn();
      }
    },
    pending: () => callbacks.size,
  } as Timer & { fire(): void; pending(): number };
}

describe('FetchWaiters', () => {
  test('an append notified between the read and the wait is not lost: the wait returns at once', async () => {
    const timer = manualTimer();
    const waiters = new FetchWaiters(timer);
    const since = waiters.sequence();
    waiters.notify('t\u00000'); // lands while the fetch was reading
    await expect(waiters.wait(['t\u00000', 't\u00001'], 500, undefined, since)).resolves.toBe(true);
    expect(waiters.size).toBe(0);
    expect(timer.pending()).toBe(0);
  });

  test('a notification of another partition, or one from before the read, does not end the wait', async () => {
    const timer = manualTimer();
    const waiters = new FetchWaiters(timer);
    waiters.notify('t\u00000'); // before the read: the read saw it
    const since = waiters.sequence();
    waiters.notify('other\u00000');
    let result: boolean | null = null;
    const waiting = waiters.wait(['t\u00000'], 500, undefined, since).then((r) => (result = r));
    await Promise.resolve();
    expect(result).toBe(null);
    expect(waiters.size).toBe(1);
    waiters.notify('t\u00000');
    await waiting;
    expect(result).toBe(true);
    expect(waiters.size).toBe(0);
  });

  test('the wait ends false on its timeout and on abort', async () => {
    const timer = manualTimer();
    const waiters = new FetchWaiters(timer);
    const timedOut = waiters.wait(['a'], 500, undefined, waiters.sequence());
    timer.fire();
    await expect(timedOut).resolves.toBe(false);
    const abort = new AbortController();
    const aborted = waiters.wait(['a'], 500, abort.signal, waiters.sequence());
    abort.abort();
    await expect(aborted).resolves.toBe(false);
    expect(waiters.size).toBe(0);
  });

  test('the memory of notified partitions is bounded; a wait from before it was forgotten returns at once', async () => {
    const timer = manualTimer();
    const waiters = new FetchWaiters(timer);
    const since = waiters.sequence();
    for (let i = 0; i <= 100_000; i++) waiters.notify(`t\u0000${i}`);
    // Partition "never" was not notified, but the memory restarted after `since`: one extra read, never a lost wakeup.
    await expect(waiters.wait(['never'], 500, undefined, since)).resolves.toBe(true);
    const after = waiters.sequence();
    let result: boolean | null = null;
    void waiters.wait(['never'], 500, undefined, after).then((r) => (result = r));
    await Promise.resolve();
    expect(result).toBe(null);
    timer.fire();
  });

  test('past maxWaiters a fetch is answered at once', async () => {
    const timer = manualTimer();
    const waiters = new FetchWaiters(timer, 1);
    void waiters.wait(['a'], 500);
    await expect(waiters.wait(['a'], 500)).resolves.toBe(false);
    timer.fire();
  });
});
