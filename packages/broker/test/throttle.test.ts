import { describe, expect, it } from 'vitest';
import { ByteRateThrottle } from '../src/replication/throttle.ts';

describe('ByteRateThrottle', () => {
  it('lets through about the rate per second on average, with at most one second of burst', () => {
    const t = new ByteRateThrottle(1000, 0);
    let now = 0;
    let fetched = 0;
    // A follower fetching 300-byte chunks whenever allowed, for 10 simulated seconds.
    for (let step = 0; step < 100_000 && now <= 10_000; step++) {
      if (t.allows(now)) {
        t.record(300, now);
        fetched += 300;
      } else {
        now += t.delayMs(now);
      }
    }
    // 1 s of burst + 10 s at 1000 B/s, overshooting by at most one chunk.
    expect(fetched).toBeGreaterThanOrEqual(10_000);
    expect(fetched).toBeLessThanOrEqual(11_000 + 300);
  });

  it('is unlimited by default and never delays', () => {
    const t = new ByteRateThrottle(Number.MAX_SAFE_INTEGER, 0);
    t.record(1e12, 0);
    expect(t.allows(0)).toBe(true);
    expect(t.delayMs(0)).toBe(0);
  });

  it('waits out a debt: a batch larger than the rate is fetched whole, then nothing for as long as it took', () => {
    const t = new ByteRateThrottle(1000, 0);
    t.record(3000, 0); // 1000 tokens - 3000 = -2000
    expect(t.allows(0)).toBe(false);
    expect(t.delayMs(0)).toBe(2001);
    expect(t.allows(1999)).toBe(false);
    expect(t.allows(2001)).toBe(true);
  });

  it('setRate: time so far is credited at the old rate, then the new rate holds; a debt is repaid at the new rate', () => {
    const t = new ByteRateThrottle(1000, 0);
    t.record(3000, 0); // -2000
    t.setRate(4000, 1000); // +1000 at the old rate: -1000, repaid at 4000 B/s
    expect(t.bytesPerSecond).toBe(4000);
    expect(t.delayMs(1000)).toBe(251);
    expect(t.allows(1251)).toBe(true);
    // Lowering the rate caps the balance at one second of the new rate.
    t.setRate(100, 10_000);
    t.record(100, 10_000);
    expect(t.allows(10_000)).toBe(false);
  });

  it('setRate: throttling an unthrottled bucket allows one second of burst; unthrottling ends any wait', () => {
    const t = new ByteRateThrottle(Number.MAX_SAFE_INTEGER, 0);
    t.record(1e9, 0);
    t.setRate(1000, 5000);
    t.record(1000, 5000);
    expect(t.allows(5000)).toBe(false);
    expect(t.delayMs(5000)).toBe(1);
    t.record(5000, 5000);
    t.setRate(Number.MAX_SAFE_INTEGER, 5000);
    expect(t.unlimited).toBe(true);
    expect(t.delayMs(5000)).toBe(0);
  });

  it('refuses a rate below 1 byte/s', () => {
    expect(() => new ByteRateThrottle(0, 0)).toThrow(/at least 1 byte\/s, got 0/);
    expect(() => new ByteRateThrottle(1000, 0).setRate(Number.NaN, 0)).toThrow(/at least 1 byte\/s/);
  });
});
