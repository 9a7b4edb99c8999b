import { describe, expect, it } from 'vitest';
import { BufferPool } from '../src/index.ts';

describe('BufferPool', () => {
  it('hands out exact-size views over power-of-two buffers and reuses released ones', () => {
    const pool = new BufferPool({ minBytes: 64 * 1024, maxPooledBytes: 1 << 20 });
    const a = pool.acquire(100_000);
    expect(a.length).toBe(100_000);
    expect(a.buffer.byteLength).toBe(131072);
    pool.release(a.subarray(10, 20)); // any view of the buffer releases it
    expect(pool.pooledBytes).toBe(131072);
    const b = pool.acquire(70_000);
    expect(b.buffer).toBe(a.buffer);
    expect(pool.pooledBytes).toBe(0);
  });

  it('ignores memory it does not own, double releases, and stays within its bound', () => {
    const pool = new BufferPool({ minBytes: 64 * 1024, maxPooledBytes: 256 * 1024 });
    pool.release(Buffer.alloc(200_000));
    expect(pool.pooledBytes).toBe(0);
    const views = Array.from({ length: 4 }, () => pool.acquire(100_000));
    pool.release(views[0]!);
    pool.release(views[0]!);
    expect(pool.pooledBytes).toBe(131072);
    for (const v of views.slice(1)) pool.release(v);
    expect(pool.pooledBytes).toBeLessThanOrEqual(256 * 1024);
  });
});
