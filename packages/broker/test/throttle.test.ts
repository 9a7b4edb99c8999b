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
});
